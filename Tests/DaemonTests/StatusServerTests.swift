import Foundation
import XCTest
import API
@testable import Daemon
import Logging

/// `/metrics` and `/healthz` over real HTTP, on the API listener.
final class StatusServerTests: XCTestCase {
    private func server(_ metrics: PipelineMetrics, _ health: PipelineHealth, port: Int = 0) throws -> APIServer {
        try APIServer(settings: .init(host: "127.0.0.1", port: port), station: StationFacade(metrics: metrics, health: health),
                      logger: Logger(label: "test.http"))
    }

    func testMetricsAndHealthEndpoints() throws {
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: .seconds(1), stallLimit: .seconds(60))
        let server = try server(metrics, health)
        defer { server.shutdown() }
        let cam = metrics.camera("cam1")
        cam.captured.increment(by: 3); cam.processed.increment(by: 2); cam.dropped.increment(); cam.up.record(1)
        metrics.countDefect(camera: "cam1", className: "short")
        metrics.setThreshold(camera: "cam1", className: "short", 0.45)
        metrics.record(.inference, nanoseconds: 20_000_000)

        let m = try httpGet(port: server.port, path: "/metrics")
        XCTAssertEqual(m.status, 200)
        for line in ["inspectd_frames_captured_total{camera=\"cam1\"} 3", "inspectd_frames_dropped_total{camera=\"cam1\"} 1",
                     "inspectd_defects_total{camera=\"cam1\",class=\"short\"} 1",
                     "inspectd_threshold{camera=\"cam1\",class=\"short\"} 0.45", "inspectd_camera_up{camera=\"cam1\"} 1",
                     "inspectd_stage_latency_seconds_count{stage=\"inference\"} 1", "inspectd_mqtt_connected 0"] {
            XCTAssertTrue(m.body.contains(line), "missing \(line) in:\n\(m.body)")
        }

        health.setCameras(["cam1"]); health.camera("cam1", .up)
        let ok = try httpGet(port: server.port, path: "/healthz")
        XCTAssertEqual(ok.status, 200)
        let report = try JSONDecoder().decode(PipelineHealth.Report.self, from: Data(ok.body.utf8))
        XCTAssertEqual(report.status, "ok"); XCTAssertEqual(report.cameras["cam1"]?.state, .up)

        health.camera("cam1", .down, reason: "no frame in 2 s")
        Thread.sleep(forTimeInterval: 1.2)
        let failing = try httpGet(port: server.port, path: "/healthz")
        XCTAssertEqual(failing.status, 503)
        XCTAssertTrue(failing.body.contains("camera cam1 down"), failing.body)

        XCTAssertEqual(try httpGet(port: server.port, path: "/nope").status, 404)
    }

    func testBusyPortIsAClearError() throws {
        let metrics = PipelineMetrics(), health = PipelineHealth(cameraDownLimit: .seconds(1), stallLimit: .seconds(1))
        let first = try server(metrics, health)
        defer { first.shutdown() }
        XCTAssertThrowsError(try server(metrics, health, port: first.port)) {
            XCTAssertTrue("\($0)".contains("http.listen: cannot listen on 127.0.0.1:\(first.port)"), "\($0)")
        }
    }
}
