import API
import Daemon
import Foundation
import TestSupport
import XCTest

/// `/api/v1/status`, `/api/v1/cameras`, the JSON error bodies, and `/metrics` + `/healthz` on the same listener,
/// against a running daemon: a synthetic camera, the repository's INT8 model, a real mosquitto broker.
final class StatusAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-status") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testStatusCamerasErrorsMetricsAndHealth() throws {
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1, threads_per_worker: 1}
            cameras:
              - id: cam1
                source: {type: synthetic, width: 320, height: 320, fps: 4, defects_per_frame: [1, 2], seed: 3}
                queue_size: 3
                thresholds: {classes: {short: 0.6}}
            detection: {confidence: 0.3}
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: inspectd-api}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0"}
            shutdown_timeout: 20s
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client

        // Wait (hang guard) until frames were inspected and the broker is connected.
        XCTAssertTrue(try daemon.wait {
            let cams = try http.get("/api/v1/cameras").list ?? []
            let status = try http.get("/api/v1/status").object ?? [:]
            return ((cams.first?["frames_processed"] as? Int) ?? 0) >= 2
                && ((status["mqtt"] as? [String: Any])?["connected"] as? Bool) == true
        }, "no frames processed or no broker connection")

        let status = try http.get("/api/v1/status")
        XCTAssertEqual(status.status, 200)
        XCTAssertEqual(status.contentType, "application/json")
        let s = try XCTUnwrap(status.object, status.text)
        XCTAssertEqual(s["version"] as? String, BuildInfo.current.version)
        XCTAssertEqual(s["commit"] as? String, BuildInfo.current.commit)
        XCTAssertEqual(s["line"] as? String, "api"); XCTAssertEqual(s["station"] as? String, "s1")
        XCTAssertEqual(s["workers"] as? Int, 1)
        XCTAssertEqual(s["cameras"] as? Int, 1)
        XCTAssertEqual(s["health"] as? String, "ok")
        let sha = try TestProcess.run("sha256sum", [RunningDaemon.model]).output.prefix(64)
        let model = try XCTUnwrap(s["model"] as? [String: Any])
        XCTAssertEqual(model["sha256"] as? String, String(sha))
        XCTAssertEqual(model["name"] as? String, "deeppcb-yolov8n.int8.onnx")
        XCTAssertEqual(model["input_size"] as? [Int], [640, 640])
        XCTAssertEqual((model["classes"] as? [String])?.count, 6)
        XCTAssertEqual(model["quantized"] as? Bool, true)
        let mqtt = try XCTUnwrap(s["mqtt"] as? [String: Any])
        XCTAssertEqual(mqtt["enabled"] as? Bool, true)
        XCTAssertNotNil(mqtt["outbox_backlog"] as? Int)
        let audit = try XCTUnwrap(s["audit"] as? [String: Any])
        XCTAssertEqual(audit["path"] as? String, dir.appendingPathComponent("state/audit.db").standardizedFileURL.path)
        XCTAssertGreaterThan(audit["bytes"] as? Int ?? 0, 0)
        XCTAssertEqual((s["snapshots"] as? [String: Any])?["enabled"] as? Bool, false, "\(s)")
        XCTAssertGreaterThanOrEqual(s["uptime_seconds"] as? Double ?? -1, 0)

        let cameras = try XCTUnwrap(try http.get("/api/v1/cameras").list)
        XCTAssertEqual(cameras.map { $0["id"] as? String }, ["cam1"])
        let cam = cameras[0]
        XCTAssertEqual(cam["state"] as? String, "up")
        XCTAssertEqual(cam["queue_size"] as? Int, 3)
        let source = try XCTUnwrap(cam["source"] as? [String: Any])
        XCTAssertEqual(source["type"] as? String, "synthetic")
        XCTAssertEqual(source["width"] as? Int, 320); XCTAssertEqual(source["fps"] as? Double, 4)
        XCTAssertGreaterThanOrEqual(cam["frames_captured"] as? Int ?? 0, cam["frames_processed"] as? Int ?? 0)
        // The thresholds in force: the camera's override for `short`, `detection.confidence` for the others.
        let thresholds = Dictionary(uniqueKeysWithValues: ((cam["thresholds"] as? [[String: Any]]) ?? []).compactMap { t in
            (t["class"] as? String).map { ($0, t["threshold"] as? Double ?? -1) }
        })
        XCTAssertEqual(thresholds.count, 6, "\(thresholds)")
        XCTAssertEqual(thresholds["short"] ?? 0, 0.6, accuracy: 1e-6)
        XCTAssertEqual(thresholds["open"] ?? 0, 0.3, accuracy: 1e-6)
        // The same camera by id, and what the metrics say agrees with it.
        let one = try http.get("/api/v1/cameras/cam1")
        XCTAssertEqual(one.status, 200); XCTAssertEqual(one.object?["id"] as? String, "cam1")
        let metrics = try http.get("/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.contentType.hasPrefix("text/plain; version=0.0.4"), metrics.contentType)
        XCTAssertTrue(metrics.text.contains("inspectd_threshold{camera=\"cam1\",class=\"short\"} 0.6")
                      || metrics.text.contains("inspectd_threshold{class=\"short\",camera=\"cam1\"} 0.6"), metrics.text)
        let health = try http.get("/healthz")
        XCTAssertEqual(health.status, 200); XCTAssertEqual(health.object?["status"] as? String, "ok")

        // Errors: JSON {error, detail} whatever failed.
        let unknown = try http.get("/api/v1/cameras/nope")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(unknown.contentType, "application/json")
        XCTAssertEqual(unknown.object?["error"] as? String, "unknown_camera")
        XCTAssertTrue((unknown.object?["detail"] as? String ?? "").contains("cam1"), unknown.text)
        let noRoute = try http.get("/api/v2/things")
        XCTAssertEqual(noRoute.status, 404)
        XCTAssertEqual(noRoute.object?["error"] as? String, "not_found", noRoute.text)
        XCTAssertTrue((noRoute.object?["detail"] as? String ?? "").contains("/api/v1"), noRoute.text)

        XCTAssertEqual(daemon.stop(), 0)
    }
}
