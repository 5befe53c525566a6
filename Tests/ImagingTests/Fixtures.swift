import Foundation
import XCTest

/// Locates generated fixtures; a missing fixture fails the test with the generator's name.
enum Fixtures {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func directory(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let dir = repoRoot.appendingPathComponent("Tests/Fixtures/generated/\(name)")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("cases.json").path) else {
            XCTFail("fixture \(dir.path) missing: run Scripts/fixtures/\(name).generate", file: file, line: line)
            throw XCTSkip("fixture missing")
        }
        return dir
    }
}
