import Foundation
import XCTest

/// Where the engine tests find their inputs.
enum EngineFixtures {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var shared: URL {
        if let s = ProcessInfo.processInfo.environment["INSPECTD_SHARED"] { return URL(fileURLWithPath: s) }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }
    static func sharedModel(_ name: String) -> String { shared.appendingPathComponent("models/\(name)").path }
    static func committed(_ name: String) -> String { repoRoot.appendingPathComponent("Tests/Fixtures/engine/\(name)").path }
    static func generated(_ generator: String) -> URL { repoRoot.appendingPathComponent("Tests/Fixtures/generated/\(generator)") }

    /// The generated fixture directory; fails the test naming the generator that makes it when it is missing.
    static func requireGenerated(_ generator: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = generated(generator)
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("missing fixture \(url.path): run Scripts/fixtures/\(generator).generate", file: file, line: line)
            throw EngineError("missing fixture")
        }
        return url
    }
}

import Engine
