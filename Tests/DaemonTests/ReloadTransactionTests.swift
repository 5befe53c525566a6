import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest
@testable import Daemon

/// Reload is a transaction: whatever a SIGHUP changes (cameras added, removed or renamed, workers, model,
/// thresholds, ROI, MQTT), frames are inspected afterwards and stop returns; a reload that cannot be built
/// leaves the running pipeline as it was. Real pipelines: synthetic cameras, the repository's INT8 model, the
/// audit database on disk (inspections counted there).
final class ReloadTransactionTests: XCTestCase {
    private var dir: URL!
    private var model: String { TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path }
    private var floatModel: String { TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.onnx").path }
    private var db: String { dir.appendingPathComponent("state/audit.db").path }

    override func setUpWithError() throws {
        dir = try TestProcess.temporaryDirectory("inspectd-reload")
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    /// A config: synthetic 320 × 320 cameras at 4 fps, no MQTT unless `mqtt` says so.
    private func config(cameras: [String], workers: Int = 1, model: String? = nil, confidence: Double = 0.3,
                        cameraExtra: String = "", mqtt: String = "{enabled: false}", metrics: String = "{enabled: false}",
                        revision: String) throws -> InspectdConfig {
        try InspectdConfig.parse(yaml: yaml(cameras: cameras, workers: workers, model: model, confidence: confidence,
                                            cameraExtra: cameraExtra, mqtt: mqtt, metrics: metrics),
                                 file: dir.appendingPathComponent("inspectd.yaml").path, baseDirectory: dir.path,
                                 revision: revision)
    }

    private func yaml(cameras: [String], workers: Int = 1, model: String? = nil, confidence: Double = 0.3,
                      cameraExtra: String = "", mqtt: String = "{enabled: false}", metrics: String = "{enabled: false}") -> String {
        let cameraLines = cameras.enumerated().map { i, id in
            """
              - id: \(id)
                source: {type: synthetic, width: 320, height: 320, fps: 4, defects_per_frame: [1, 2], seed: \(i + 1)}
            \(cameraExtra.isEmpty ? "" : "    " + cameraExtra)
            """
        }.joined(separator: "\n")
        return """
        site: {line: rl, station: s1}
        model: {path: \(model ?? self.model)}
        workers: {count: \(workers), threads_per_worker: 1}
        cameras:
        \(cameraLines)
        detection: {confidence: \(confidence)}
        mqtt: \(mqtt)
        audit: {path: state/audit.db, batch_interval: 50ms}
        snapshots: {enabled: false}
        metrics: \(metrics)
        shutdown_timeout: 20s
        """
    }

    private func makePipeline(_ config: InspectdConfig) throws -> Pipeline {
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30))
        let logger = Logger(label: "test.reload")
        return try Pipeline(config: config, metrics: PipelineMetrics(), health: health, logger: logger)
    }

    private func query(_ sql: String) throws -> String {
        try TestProcess.run("sqlite3", ["-readonly", "-cmd", ".timeout 10000", db, sql]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Inspections recorded for `camera` under config `revision`.
    private func inspections(_ camera: String, revision: String) throws -> Int {
        Int(try query("SELECT count(*) FROM inspections WHERE camera = '\(camera)' AND config_revision = '\(revision)'")) ?? -1
    }

    /// Waits (up to a generous limit, not a timing assertion) until every camera has `count` inspections
    /// recorded under `revision`; returns the counts seen.
    @discardableResult
    private func waitForInspections(_ pipeline: Pipeline, cameras: [String], revision: String, count: Int = 3) throws -> [String: Int] {
        let limit = Date().addingTimeInterval(240)
        var seen: [String: Int] = [:]
        while Date() < limit {
            pipeline.flushAudit(timeout: 10)
            seen = try Dictionary(uniqueKeysWithValues: cameras.map { ($0, try inspections($0, revision: revision)) })
            if seen.values.allSatisfy({ $0 >= count }) { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        for camera in cameras {
            XCTAssertGreaterThanOrEqual(seen[camera] ?? 0, count, "camera \(camera) not inspected under \(revision): \(seen)")
        }
        return seen
    }

    /// Stops the pipeline from another thread; nil when it did not return (a hang guard far above the
    /// pipeline's own deadline, not a timing assertion).
    private func stop(_ pipeline: Pipeline, timeout: Duration = .seconds(20)) -> Bool? {
        let result = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { result.withLock { $0 = pipeline.stop(timeout: timeout) }; done.signal() }
        guard done.wait(timeout: .now() + 120) == .success else { return nil }
        return result.withLock { $0 }
    }

    /// Runs `before`, reloads to `after`, and checks that `after`'s cameras are inspected under its revision
    /// and that stop returns, clean.
    private func reload(from before: InspectdConfig, to after: InspectdConfig) throws -> Pipeline {
        let pipeline = try makePipeline(before)
        pipeline.start()
        try waitForInspections(pipeline, cameras: before.cameras.map(\.id), revision: before.revision, count: 1)
        try pipeline.apply(after)
        try waitForInspections(pipeline, cameras: after.cameras.map(\.id), revision: after.revision)
        return pipeline
    }

    func testRenamingEveryCameraAndChangingWorkersKeepsInspecting() throws {
        let before = try config(cameras: ["a1", "a2"], workers: 1, revision: "r1")
        let after = try config(cameras: ["b1", "b2"], workers: 2, revision: "r2")
        let pipeline = try reload(from: before, to: after)
        XCTAssertEqual(stop(pipeline), true, "stop did not return clean")
    }

    func testRenamingEveryCameraAndChangingTheModelKeepsInspecting() throws {
        let before = try config(cameras: ["a1"], revision: "r1")
        let after = try config(cameras: ["b1", "b2"], model: floatModel, revision: "r2")
        let pipeline = try reload(from: before, to: after)
        let floatSHA = try XCTUnwrap(try TestProcess.run("sha256sum", [floatModel]).output.split(separator: " ").first)
        XCTAssertGreaterThan(Int(try query("SELECT count(*) FROM inspections WHERE config_revision = 'r2' AND model_sha256 = '\(floatSHA)'")) ?? 0, 0,
                             "frames after the reload were not inspected with the new model")
        XCTAssertEqual(stop(pipeline), true, "stop did not return clean")
    }

    func testAddingRemovingCamerasWithNewThresholdsAndROIKeepsInspecting() throws {
        let before = try config(cameras: ["c1", "c2"], revision: "r1")
        let after = try config(cameras: ["c2", "c3"], confidence: 0.5,
                               cameraExtra: "roi: {polygon: [[0, 0], [160, 0], [160, 160], [0, 160]]}", revision: "r2")
        let pipeline = try reload(from: before, to: after)
        // The new rules are in force: no defect under the old threshold or outside the new ROI on the new camera,
        // nor on the kept one once the frames already queued or in a worker at the reload are through: up to
        // queue_size (4, the default) + one per worker (1). A grace of 2 failed under load (CI, 2026-12-04:
        // c2's frame 3 detected at the old 0.3).
        try waitForInspections(pipeline, cameras: ["c2", "c3"], revision: "r2", count: 9)
        let violations = try query("""
            SELECT i.camera || ' ' || i.sequence || ' ' || d.threshold || ' ' || d.x1 || ',' || d.y1 || ',' || d.x2 || ',' || d.y2
            FROM defects d JOIN inspections i ON i.id = d.inspection_id
            WHERE i.config_revision = 'r2' AND (d.threshold <> 0.5 OR (d.x1 + d.x2) / 2 > 160 OR (d.y1 + d.y2) / 2 > 160)
              AND (i.camera = 'c3' OR i.sequence > 5 + (SELECT min(sequence) FROM inspections
                                                         WHERE camera = 'c2' AND config_revision = 'r2'))
            """)
        XCTAssertEqual(violations, "", "defects judged with the old rules after the reload")
        XCTAssertGreaterThan(Int(try query("SELECT count(*) FROM defects d JOIN inspections i ON i.id = d.inspection_id WHERE i.config_revision = 'r2'")) ?? 0, 0,
                             "no defect at all after the reload: the check above proves nothing")
        XCTAssertEqual(stop(pipeline), true, "stop did not return clean")
    }

    func testChangingWorkersAloneAndThenTheModelAloneKeepsInspecting() throws {
        let first = try config(cameras: ["c1"], revision: "r1")
        let pipeline = try reload(from: first, to: try config(cameras: ["c1"], workers: 2, revision: "r2"))
        try pipeline.apply(try config(cameras: ["c1"], workers: 2, model: floatModel, revision: "r3"))
        try waitForInspections(pipeline, cameras: ["c1"], revision: "r3")
        XCTAssertEqual(stop(pipeline), true, "stop did not return clean")
    }

    func testChangingMQTTSettingsKeepsInspectingAndPublishesUnderTheNewPrefix() throws {
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let subscriber = try MosquittoSubscriber(broker: broker, topic: "#", clientID: "rl-sub", directory: dir)
        defer { subscriber.stop() }
        let before = try config(cameras: ["c1"], confidence: 0.05,
                                mqtt: "{host: 127.0.0.1, port: \(broker.port), client_id: rl-a}", revision: "r1")
        let after = try config(cameras: ["c1", "c2"], confidence: 0.05,
                               mqtt: "{host: 127.0.0.1, port: \(broker.port), client_id: rl-b, topic_prefix: plant/new}",
                               revision: "r2")
        let pipeline = try reload(from: before, to: after)
        let messages = subscriber.wait(timeout: 120) { m in m.contains { $0.topic.hasPrefix("plant/new/c2/") } }
        XCTAssertTrue(messages.contains { $0.topic.hasPrefix("plant/new/c2/") },
                      "nothing published under the new prefix: \(messages.map(\.topic).suffix(10))")
        XCTAssertEqual(stop(pipeline), true, "stop did not return clean")
    }

    /// A reload that renames every camera and changes workers and the model, to a model file that cannot be
    /// loaded: rejected, and the running cameras, workers and model go on as before.
    func testAFailedReloadLeavesTheRunningPipelineUntouched() throws {
        let broken = dir.appendingPathComponent("broken.onnx")
        try Data("not a model".utf8).write(to: broken)
        let before = try config(cameras: ["a1", "a2"], revision: "r1")
        let pipeline = try makePipeline(before)
        pipeline.start()
        try waitForInspections(pipeline, cameras: ["a1", "a2"], revision: "r1", count: 1)
        XCTAssertThrowsError(try pipeline.apply(try config(cameras: ["b1"], workers: 2, model: broken.path, revision: "r2")))
        pipeline.flushAudit()
        let counted = try inspections("a1", revision: "r1")
        try waitForInspections(pipeline, cameras: ["a1", "a2"], revision: "r1", count: counted + 3)
        XCTAssertEqual(try query("SELECT count(*) FROM inspections WHERE camera = 'b1' OR config_revision = 'r2'"), "0")
        XCTAssertEqual(stop(pipeline), true, "stop did not return clean")
    }

    /// The service: `metrics.enabled` false → true on reload brings the server up; a rejected reload is counted.
    func testMetricsTurnedOnByAReloadAreServedAndAFailedReloadIsCounted() throws {
        let file = dir.appendingPathComponent("inspectd.yaml")
        try yaml(cameras: ["c1"]).write(to: file, atomically: true, encoding: .utf8)
        let service = InspectionService(configPath: file.path, environment: [:], logger: Logger(label: "test.service"))
        let code = Mutex<Int32?>(nil)
        let exited = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let c = service.run(errors: { print("service: \($0)") })
            code.withLock { $0 = c }
            exited.signal()
        }
        let limit = Date().addingTimeInterval(240)
        while Date() < limit && service.health.report().framesProcessed < 2 && code.withLock({ $0 }) == nil {
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertNil(code.withLock { $0 }, "the service ended")
        XCTAssertGreaterThanOrEqual(service.health.report().framesProcessed, 2, "the service inspected nothing")
        XCTAssertNil(service.metricsPort, "metrics are off")

        try yaml(cameras: ["c1"], metrics: "{listen: \"127.0.0.1:0\"}").write(to: file, atomically: true, encoding: .utf8)
        service.reload()
        let port = try XCTUnwrap(service.metricsPort, "metrics turned on by a reload: no server")
        XCTAssertEqual(try httpGet(port: port, path: "/healthz").status, 200)

        let broken = dir.appendingPathComponent("broken.onnx")
        try Data("not a model".utf8).write(to: broken)
        try yaml(cameras: ["d1"], workers: 2, model: broken.path, metrics: "{listen: \"127.0.0.1:0\"}")
            .write(to: file, atomically: true, encoding: .utf8)
        service.reload()
        XCTAssertEqual(service.metricsPort, port, "a rejected reload keeps the running server")
        let metrics = try httpGet(port: port, path: "/metrics").body
        XCTAssertTrue(metrics.contains("inspectd_config_reload_failures_total 1"), metrics)

        service.requestStop()
        XCTAssertEqual(exited.wait(timeout: .now() + 120), .success, "the service did not stop")
        XCTAssertEqual(code.withLock { $0 }, 0)
        XCTAssertEqual(try query("SELECT count(*) FROM service_events WHERE kind = 'error' AND detail LIKE 'config reload rejected%'"), "1")
    }
}
