import Foundation
import TestSupport
import XCTest

/// schemathesis (property-based API testing from the OpenAPI document) against a running daemon with bearer
/// auth on: whatever the served `/api/v1/openapi.json` documents is generated, positive and negative, and every
/// answer must be no 5xx, a documented status, content type, headers and body schema, 405 with `Allow` for
/// undocumented methods, 401 without the token. Bounded for CI: SCHEMATHESIS_EXAMPLES (default 15) cases per
/// operation and phase, seed SCHEMATHESIS_SEED (default 1, so a failure reproduces); the schemathesis command
/// and its output are in the failure message (`st replay ID` needs its report, so the command is the way).
final class SchemathesisAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-schemathesis") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testServedDocumentHoldsForGeneratedRequests() throws {
        let env = ProcessInfo.processInfo.environment
        let python = TestProcess.python
        let schemathesis = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        guard FileManager.default.isExecutableFile(atPath: schemathesis) else {
            throw TestProcess.Failure(description: "schemathesis not found at \(schemathesis): run Scripts/setup or set INSPECTD_PYTHON")
        }
        let operatorToken = "operator-fedcba9876543210"
        try "\(operatorToken) operator\nviewer-0123456789abcdef viewer\n"
            .write(to: dir.appendingPathComponent("tokens"), atomically: true, encoding: .utf8)
        // One slow synthetic camera, so /cameras/{id} has a camera to find besides the ones it does not.
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras:
              - id: cam1
                source: {type: synthetic, width: 320, height: 320, fps: 1}
            mqtt: {enabled: false}
            audit: {path: state/audit.db}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0", auth: {tokens_file: tokens}}
            """, directory: dir)
        defer { daemon.stop() }
        let arguments = [
            "--config-file", TestProcess.repositoryRoot.appendingPathComponent("Tests/Schemathesis/schemathesis.toml").path,
            "run", "http://127.0.0.1:\(daemon.port)/api/v1/openapi.json",
            "--header", "Authorization: Bearer \(operatorToken)",
            "--checks", "all",
            "--max-examples", env["SCHEMATHESIS_EXAMPLES"] ?? "15",
            "--seed", env["SCHEMATHESIS_SEED"] ?? "1",
            "--workers", "1", "--request-timeout", "60", "--no-color",
            "--report", "junit", "--report-dir", dir.appendingPathComponent("report").path,
        ]
        // In the test's directory: schemathesis keeps .hypothesis/.schemathesis caches in its working directory.
        let result = try TestProcess.run("/usr/bin/env", ["-C", dir.path, schemathesis] + arguments, timeout: 900)
        let command = ([schemathesis] + arguments).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        XCTAssertEqual(result.status, 0, "\(command)\n\(result.output)")
        XCTAssertTrue(result.output.contains("Tested:"), "schemathesis tested nothing:\n\(result.output)")
        // The daemon is still up and answering after everything schemathesis sent.
        XCTAssertEqual(try daemon.client.get("/healthz").status, 200)
    }
}
