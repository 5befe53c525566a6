import API
import Capture
import CaptureTesting
import Foundation
import Imaging
import Logging
import TestSupport
import XCTest
@testable import Daemon

/// The latest frame of a V4L2 camera (a `SimulatedV4L2Device` run by the real pipeline) through the HTTP API's
/// façade: `/cameras` reports what the driver answered, not what was configured, and `frame.jpg` encodes the
/// camera's raw YUYV frame as a JPEG of the negotiated size.
final class LiveFrameTests: XCTestCase {
    func testNegotiatedFormatAndLatestFrameOfAV4L2Camera() async throws {
        let dir = try TestProcess.temporaryDirectory("inspectd-live-frame")
        defer { try? FileManager.default.removeItem(at: dir) }
        let device = "/dev/inspectd-simulated-live0"
        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        // Asked for 640 × 480 at 100 fps; the camera only has 320 × 240 YUYV and runs at most at 60 fps.
        let config = try InspectdConfig.parse(yaml: """
            site: {line: lf, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: line
                source: {type: v4l2, device: \(device), formats: [yuyv], width: 640, height: 480, fps: 100}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            metrics: {enabled: false}
            """, file: dir.appendingPathComponent("inspectd.yaml").path, baseDirectory: dir.path, revision: "r1")
        let camera = SimulatedV4L2Device(paths: [device], modes: [.init(.yuyv, 320, 240)],
                                         controls: ["gain": .init(minimum: 0, maximum: 255, value: 32),
                                                    "exposure_time_absolute": .init(minimum: 3, maximum: 2047, value: 250)])
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30))
        let pipeline = try Pipeline(config: config, metrics: metrics, health: health, logger: Logger(label: "test.live"),
                                    v4l2Device: camera)
        let facade = StationFacade(metrics: metrics, health: health)
        facade.update(config: config, model: pipeline.model)
        facade.attach(pipeline)
        defer { facade.stop() }

        do {
            _ = try await facade.frame(camera: "line", annotated: false)
            XCTFail("a frame before the camera started")
        } catch let e as APIError {
            XCTAssertEqual(e.status, .serviceUnavailable); XCTAssertEqual(e.error, "no_frame")
        }
        XCTAssertNil(facade.cameras().first?.negotiated, "negotiated before the camera was opened")

        pipeline.start()
        defer { pipeline.stop(timeout: .seconds(10)) }
        let limit = Date().addingTimeInterval(120)  // a hang guard, not a timing check
        var image: FrameImage?
        while image == nil && Date() < limit {
            image = try? await facade.frame(camera: "line", annotated: false)
            if image == nil { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        let jpeg = try XCTUnwrap(image?.jpeg, "no frame from the camera")
        let size = try jpeg.withUnsafeBytes { try JPEGDecoder().header($0) }
        XCTAssertEqual(size.width, 320); XCTAssertEqual(size.height, 240)
        let annotated = try await facade.frame(camera: "line", annotated: true)
        XCTAssertEqual(try annotated.jpeg.withUnsafeBytes { try JPEGDecoder().header($0) }.width, 320)

        let negotiated = try XCTUnwrap(facade.cameras().first?.negotiated)
        XCTAssertEqual(negotiated.format, "YUYV")
        XCTAssertEqual(negotiated.width, 320); XCTAssertEqual(negotiated.height, 240)
        XCTAssertEqual(negotiated.fps, 60, accuracy: 0.01)
        XCTAssertNotNil(negotiated.driverBuffers)
        XCTAssertEqual(facade.cameras().first?.source.width, 640, "the configured size stays in `source`")
        // The driver's controls, read-only, as VIDIOC_QUERYCTRL and G_CTRL answered.
        let controls = try XCTUnwrap(facade.cameras().first?.controls)
        XCTAssertEqual(controls.map(\.name), ["Gain", "Exposure Time, Absolute"], "in id order: user class, then camera class")
        let gain = try XCTUnwrap(controls.first { $0.name == "Gain" })
        XCTAssertEqual(gain.value, 32); XCTAssertEqual(gain.minimum, 0); XCTAssertEqual(gain.maximum, 255)
        XCTAssertEqual(gain.defaultValue, 32); XCTAssertEqual(gain.type, "integer")
        let json = try XCTUnwrap(String(data: try JSONEncoder().encode(gain), encoding: .utf8))
        XCTAssertTrue(json.contains("\"default\":32"), json)

        do {
            _ = try await facade.frame(camera: "nope", annotated: false)
            XCTFail("a frame of an unknown camera")
        } catch let e as APIError {
            XCTAssertEqual(e.status, .notFound)
        }
    }
}
