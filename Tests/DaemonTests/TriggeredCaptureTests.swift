import Capture
import CaptureTesting
import Delivery
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest
@testable import Daemon

/// A software-triggered V4L2 camera (a `SimulatedV4L2Device` at 30 fps, frames stamped when captured, run by the
/// real pipeline): the camera streams all the time, and each trigger is judged on a frame captured at or after
/// its arrival plus `delay`, in order, one frame per trigger; the frames between triggers are not judged.
final class TriggeredCaptureTests: XCTestCase {
    func testEachTriggerIsJudgedOnAFrameCapturedAtOrAfterItsArrivalPlusDelay() throws {
        let dir = try TestProcess.temporaryDirectory("inspectd-triggered-capture")
        defer { try? FileManager.default.removeItem(at: dir) }
        let device = "/dev/inspectd-simulated-trigger0"
        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        let config = try InspectdConfig.parse(yaml: """
            site: {line: tc, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: line
                source: {type: v4l2, device: \(device), formats: [mjpeg], width: 640, height: 480, fps: 30}
                trigger: {mode: software, delay: 50ms, timeout: 30s, queue: 4}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            metrics: {enabled: false}
            """, file: dir.appendingPathComponent("inspectd.yaml").path, baseDirectory: dir.path, revision: "r1")
        let camera = SimulatedV4L2Device(paths: [device], modes: [.init(.mjpeg, 640, 480)])
        let pipeline = try Pipeline(config: config, metrics: PipelineMetrics(),
                                    health: PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30)),
                                    logger: Logger(label: "test.trigger"), v4l2Device: camera)
        pipeline.start()
        defer { pipeline.stop(timeout: .seconds(10)) }
        let limit = Date().addingTimeInterval(120)  // hang guard
        while camera.framesProduced < 5 && Date() < limit { Thread.sleep(forTimeInterval: 0.05) }

        let delay: UInt64 = 50_000_000
        var previous: UInt64?
        for i in 0..<12 {
            let done = DispatchSemaphore(value: 0)
            let got = Mutex<TriggerResult?>(nil)
            let arrived = PipelineHealth.monotonicNanos()
            XCTAssertTrue(pipeline.trigger(camera: "line", part: PartFields(partID: "P\(i)", source: "http")) { r in
                got.withLock { $0 = r }; done.signal()
            })
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "trigger \(i) unanswered")
            let result = try XCTUnwrap(got.withLock { $0 })
            let inspection = try XCTUnwrap(result.inspection, "trigger \(i): \(result.message)")
            // `arrived` was read just before the trigger was handed in, so its own arrival is no earlier.
            XCTAssertGreaterThanOrEqual(inspection.monotonicNanos, arrived + delay, "trigger \(i): a frame from before the part settled")
            if let previous { XCTAssertGreaterThan(inspection.sequence, previous, "one frame per trigger, in order") }
            previous = inspection.sequence
            // Every third trigger waits a little, so frames stream by with no trigger.
            if i % 3 == 0 { Thread.sleep(forTimeInterval: 0.2) }
        }
        XCTAssertTrue(pipeline.flushAudit())
        let db = dir.appendingPathComponent("state/audit.db").path
        let counts = try TestProcess.run("sqlite3", ["-readonly", "-cmd", ".timeout 10000", db,
            "SELECT count(*), count(DISTINCT part_id), count(*) FILTER (WHERE trigger_source = 'http') FROM inspections"]).output
        XCTAssertEqual(counts.trimmingCharacters(in: .whitespacesAndNewlines), "12|12|12",
                       "only triggered frames are judged, each with its part")
        XCTAssertGreaterThan(camera.framesProduced, 12 + 5, "the camera streamed between triggers")
    }
}
