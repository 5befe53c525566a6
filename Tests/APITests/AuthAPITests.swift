import Foundation
import TestSupport
import XCTest

/// `http.auth`: bearer tokens with roles against a running daemon (a pure inspection server): no or an unknown
/// token is 401 with a challenge, a viewer token reads but may not POST (403), an operator token may; `/healthz`
/// stays open; every refusal is counted by reason on `/metrics`.
final class AuthAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-auth") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testRolesChallengesAndTheFailureCounter() throws {
        let viewer = "viewer-0123456789abcdef", operatorToken = "operator-fedcba9876543210"
        try "# test tokens\n\(viewer) viewer\n\(operatorToken) operator\n"
            .write(to: dir.appendingPathComponent("tokens"), atomically: true, encoding: .utf8)
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras: []
            mqtt: {enabled: false}
            audit: {path: state/audit.db}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0", auth: {tokens_file: tokens}}
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client
        func bearer(_ t: String) -> [String: String] { ["Authorization": "Bearer \(t)"] }
        let image = TestProcess.shared + "/datasets/deeppcb/images/val/"
            + (try FileManager.default.contentsOfDirectory(atPath: TestProcess.shared + "/datasets/deeppcb/images/val")
                .filter { $0.hasSuffix(".jpg") }.sorted()[0])

        let none = try http.get("/api/v1/status")
        XCTAssertEqual(none.status, 401, none.text)
        XCTAssertEqual(none.object?["error"] as? String, "unauthorized")
        XCTAssertTrue(none.headers["www-authenticate"]?.hasPrefix("Bearer") ?? false, "\(none.headers)")
        XCTAssertEqual(try http.get("/metrics").status, 401)
        let wrong = try http.get("/api/v1/status", headers: bearer(viewer + "x"))
        XCTAssertEqual(wrong.status, 401); XCTAssertEqual(wrong.object?["error"] as? String, "unauthorized")
        XCTAssertEqual(try http.get("/api/v1/status", headers: ["Authorization": "Basic \(viewer)"]).status, 401)

        XCTAssertEqual(try http.get("/healthz").status, 200, "health stays open for probes")
        XCTAssertEqual(try http.get("/api/v1/status", headers: bearer(viewer)).status, 200)
        XCTAssertEqual(try http.get("/api/v1/status", headers: bearer(operatorToken)).status, 200)

        let viewerPost = try http.request("POST", "/api/v1/detect", bodyFile: image,
                                          headers: bearer(viewer).merging(["Content-Type": "image/jpeg"]) { a, _ in a })
        XCTAssertEqual(viewerPost.status, 403, viewerPost.text)
        XCTAssertEqual(viewerPost.object?["error"] as? String, "forbidden")
        XCTAssertTrue((viewerPost.object?["detail"] as? String)?.contains("operator") ?? false, viewerPost.text)
        let operatorPost = try http.request("POST", "/api/v1/detect", bodyFile: image,
                                            headers: bearer(operatorToken).merging(["Content-Type": "image/jpeg"]) { a, _ in a })
        XCTAssertEqual(operatorPost.status, 200, operatorPost.text)
        XCTAssertNotNil(operatorPost.object?["verdict"] as? String, operatorPost.text)

        // Refusals so far: missing 2 (status, metrics), unknown 2 (wrong token, Basic), forbidden 1.
        let metrics = try http.get("/metrics", headers: bearer(viewer)).text
        for (reason, count) in [("missing", 2), ("unknown", 2), ("forbidden", 1)] {
            XCTAssertTrue(metrics.contains("inspectd_http_auth_failures_total{reason=\"\(reason)\"} \(count)"),
                          "\(reason) \(count) not in:\n\(metrics.split(separator: "\n").filter { $0.contains("auth") })")
        }
    }
}
