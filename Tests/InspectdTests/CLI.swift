import Foundation
import TestSupport
import XCTest

/// Runs the `inspectd` binary that SwiftPM built next to this test bundle, and finds shared test data.
enum CLI {
    /// Repository root.
    static let repo = TestProcess.repositoryRoot
    /// ../shared beside the repository, or $INSPECTD_SHARED.
    static let shared = URL(fileURLWithPath: TestProcess.shared)

    /// The built binary: same folder as the test bundle.
    static var binary: String { (try? TestProcess.inspectdBinary()) ?? "inspectd (not found next to the test bundle)" }

    /// Runs inspectd with `arguments`; returns exit status, stdout and stderr.
    static func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        // Read both pipes concurrently so a chatty stderr cannot block the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// A generated fixture file; fails the test naming the generator when it is missing.
    static func fixture(_ relative: String, generator: String) throws -> URL {
        let url = repo.appendingPathComponent("Tests/Fixtures/generated").appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("missing fixture \(url.path): run Scripts/fixtures/\(generator).generate")
            throw XCTSkip("fixture missing")
        }
        return url
    }
}
