import Foundation
import XCTest

/// Locates test fixtures: committed ones under Tests/Fixtures, generated ones under Tests/Fixtures/generated.
enum Fixtures {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Reads a fixture, failing with the name of the script that makes it when missing.
    static func data(_ relativePath: String, generator: String, file: StaticString = #filePath,
                     line: UInt = #line) throws -> Data {
        let url = repoRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
        guard let data = try? Data(contentsOf: url) else {
            XCTFail("missing fixture Tests/Fixtures/\(relativePath): run \(generator)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return data
    }
}
