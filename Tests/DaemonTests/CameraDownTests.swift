import Capture
import CaptureTesting
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest
@testable import Daemon

/// A camera that is missing at start, unplugged while streaming, or plugged back in is a camera-down state of
/// that camera, not a station failure: the other cameras go on, the camera's state and reason show in metrics,
/// health and its MQTT status topic, and it comes back by itself. The V4L2 camera is a `SimulatedV4L2Device`
/// run by the real pipeline; the broker is a real mosquitto.
final class CameraDownTests: XCTestCase {
    func testAMissingCameraIsDownAndComesBackWhenPluggedInWhileTheOthersRun() throws {
        let dir = try TestProcess.temporaryDirectory("inspectd-camera-down")
        defer { try? FileManager.default.removeItem(at: dir) }
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let subscriber = try MosquittoSubscriber(broker: broker, topic: "cd/s1/#", clientID: "cd-sub", directory: dir)
        defer { subscriber.stop() }

        let device = "/dev/inspectd-simulated-line0"  // no such node: the camera is not plugged in
        XCTAssertFalse(FileManager.default.fileExists(atPath: device))
        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        let config = try InspectdConfig.parse(yaml: """
            site: {line: cd, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: line
                source: {type: v4l2, device: \(device), formats: [mjpeg], width: 640, height: 480, fps: 5}
              - id: other
                source: {type: synthetic, width: 320, height: 320, fps: 4, defects_per_frame: 1}
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: cd-daemon, topic_prefix: cd/s1}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            metrics: {enabled: false}
            """, file: dir.appendingPathComponent("inspectd.yaml").path, baseDirectory: dir.path, revision: "r1")

        let camera = SimulatedV4L2Device(paths: [device], modes: [.init(.mjpeg, 640, 480)])
        camera.unplug()
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30))
        let pipeline = try Pipeline(config: config, metrics: metrics, health: health, logger: Logger(label: "test.down"),
                                    v4l2Device: camera)
        pipeline.start()
        let db = dir.appendingPathComponent("state/audit.db").path
        func inspections(_ camera: String) -> Int {
            pipeline.flushAudit(timeout: 10)
            let out = try? TestProcess.run("sqlite3", ["-readonly", "-cmd", ".timeout 10000", db, "SELECT count(*) FROM inspections WHERE camera = '\(camera)'"]).output
            return Int(out?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
        }
        /// Polls `condition` for up to `seconds` (a generous limit, not a timing assertion).
        func eventually(_ seconds: Double = 120, _ condition: () -> Bool) -> Bool {
            let limit = Date().addingTimeInterval(seconds)
            while Date() < limit { if condition() { return true }; Thread.sleep(forTimeInterval: 0.2) }
            return condition()
        }
        func statuses(_ messages: [MosquittoSubscriber.Message]) -> [String] {
            messages.filter { $0.topic == "cd/s1/line/status" }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any])?["state"] as? String
            }
        }

        // Missing at start: down with the reason everywhere, and the other camera is inspected.
        XCTAssertTrue(eventually { inspections("other") >= 3 }, "the other camera was not inspected")
        XCTAssertTrue(eventually { health.report().cameras["line"]?.state == .down }, "\(health.report())")
        let down = try XCTUnwrap(health.report().cameras["line"])
        XCTAssertTrue(down.reason?.contains(device) ?? false, "no reason: \(down)")
        XCTAssertTrue(metrics.exposition().contains("inspectd_camera_up{camera=\"line\"} 0"), metrics.exposition())
        let first = subscriber.wait(timeout: 60) { statuses($0).contains("down") }
        XCTAssertEqual(statuses(first).last, "down", "no down status published")
        XCTAssertTrue(first.contains { $0.topic == "cd/s1/line/status" && $0.payload.contains(device) }, "no reason published")
        XCTAssertEqual(inspections("line"), 0)

        // Plugged in: it comes back by itself (retry with backoff) and is inspected.
        camera.replug()
        XCTAssertTrue(eventually { health.report().cameras["line"]?.state == .up }, "\(health.report())")
        XCTAssertTrue(eventually { inspections("line") >= 3 }, "the camera came back but was not inspected")
        XCTAssertTrue(metrics.exposition().contains("inspectd_camera_up{camera=\"line\"} 1"), metrics.exposition())
        let back = subscriber.wait(timeout: 60) { statuses($0).last == "up" }
        XCTAssertEqual(statuses(back).last, "up", "no up status published")

        // Unplugged while streaming, then plugged in again.
        camera.unplug()
        XCTAssertTrue(eventually { health.report().cameras["line"]?.state == .down }, "\(health.report())")
        let otherBefore = inspections("other")
        XCTAssertTrue(eventually { inspections("other") >= otherBefore + 3 }, "the other camera stopped with this one")
        camera.replug()
        let lineBefore = inspections("line")
        XCTAssertTrue(eventually { inspections("line") >= lineBefore + 3 }, "not inspected after the second replug")
        XCTAssertEqual(health.report().cameras["line"]?.state, .up)

        let stopped = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { stopped.withLock { $0 = pipeline.stop(timeout: .seconds(20)) }; done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "stop did not return")
        XCTAssertEqual(stopped.withLock { $0 }, true)
    }
}
