import Foundation
import XCTest
@testable import Capture
import CaptureTesting
@testable import Imaging

/// Collects source events from the capture thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [SourceEvent] = []
    func append(_ e: SourceEvent) { lock.withLock { items.append(e) } }
    var events: [SourceEvent] { lock.withLock { items } }
    var downs: [String] { events.compactMap { if case .down(let r) = $0 { return r } else { return nil } } }
    var ups: Int { events.filter { $0 == .up }.count }
    var decodeErrors: [String] { events.compactMap { if case .decodeError(let r) = $0 { return r } else { return nil } } }
}

final class V4L2SourceTests: XCTestCase {
    private func make(_ device: SimulatedV4L2Device, _ clock: ManualCaptureClock, formats: [V4L2PixelFormat] = [.mjpeg, .yuyv],
                      path: String = "/dev/video0", width: Int = 1280, height: Int = 720, buffers: Int = 4, pool: Int = 4,
                      controls: [CameraControl] = []) throws -> (V4L2Source, EventLog) {
        let source = try V4L2Source(configuration: .init(cameraID: "cam1", device: path, formats: formats, width: width,
                                                        height: height, fps: 30, bufferCount: buffers, poolSize: pool,
                                                        controls: controls), device: device, clock: clock)
        let log = EventLog()
        source.onEvent = { log.append($0) }
        return (source, log)
    }

    func testNegotiatesFirstPreferredFormatTheCameraHasAndNearestSize() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(modes: [.init(.yuyv, 640, 480), .init(.yuyv, 320, 240), .init(.grey, 640, 480)],
                                         clock: clock)
        let (source, log) = try make(device, clock, formats: [.mjpeg, .yuyv, .grey], width: 600, height: 400)
        try source.start()
        XCTAssertEqual(log.events, [.configured(summary: "YUYV 640×480 at 30 fps, 4 driver buffers", controlProblems: []), .up],
                       "the negotiated format is reported for the log")
        XCTAssertEqual(source.negotiated?.format, .yuyv)
        XCTAssertEqual(source.negotiated?.width, 640)
        XCTAssertEqual(source.negotiated?.height, 480)
        XCTAssertEqual(source.negotiated?.fps ?? 0, 30, accuracy: 0.01)
        let frame = try XCTUnwrap(source.nextFrame(timeout: .seconds(1)))
        XCTAssertEqual(frame.pixels.format, .yuyv)
        XCTAssertEqual(frame.pixels.byteCount, 640 * 480 * 2)
        source.stop()
        XCTAssertFalse(device.isOpen)
    }

    func testCameraWithoutAnyPreferredFormatIsDownNotFatal() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(modes: [.init(.nv12, 640, 480)], clock: clock)
        let (source, log) = try make(device, clock, formats: [.mjpeg, .grey])
        XCTAssertNoThrow(try source.start())
        XCTAssertEqual(log.downs.count, 1)
        XCTAssertTrue(log.downs[0].contains("no usable pixel format"), log.downs[0])
        XCTAssertTrue(log.downs[0].contains("NV12"), log.downs[0])
        XCTAssertNil(try source.nextFrame(timeout: .milliseconds(100)))
        XCTAssertFalse(device.isOpen)
    }

    func testStreamsFramesInOrderFromClampedBuffersAndRecyclesThePool() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(paths: ["/dev/video0", "/dev/v4l/by-id/usb-Acme_Cam-video-index0"], clock: clock)
        device.bufferCountRange = 2...3
        let (source, log) = try make(device, clock, path: "/dev/v4l/by-id/usb-Acme_Cam-video-index0", buffers: 8, pool: 2)
        try source.start()
        XCTAssertEqual(source.negotiated?.bufferCount, 3, "driver clamps the count")
        XCTAssertEqual(source.negotiated?.format, .mjpeg)
        let decoder = try JPEGDecoder()
        var last: UInt64?
        var lastTime: UInt64 = 0
        for _ in 0..<10 {
            let f = try XCTUnwrap(source.nextFrame(timeout: .seconds(1)))
            if let last { XCTAssertEqual(f.sequence, last + 1) }
            XCTAssertGreaterThan(f.monotonicNanos, lastTime)
            last = f.sequence; lastTime = f.monotonicNanos
            XCTAssertEqual(f.pixels.format, .jpeg)
            XCTAssertEqual(try decoder.header(f.pixels.contents).width, 1280)
            f.release()
        }
        // Hold both pool buffers: the next frame is dropped (counted), not allocated.
        let a = try XCTUnwrap(source.nextFrame(timeout: .seconds(1)))
        let b = try XCTUnwrap(source.nextFrame(timeout: .seconds(1)))
        XCTAssertFalse(a.pixels === b.pixels)
        XCTAssertNil(try source.nextFrame(timeout: .milliseconds(50)))
        XCTAssertTrue(log.events.contains(.dropped(count: 1)))
        a.release()
        let c = try XCTUnwrap(source.nextFrame(timeout: .seconds(1)))
        XCTAssertTrue(c.pixels === a.pixels, "the recycled buffer is reused")
        XCTAssertEqual(log.downs, [])
    }

    func testGapsShortPayloadsAndErrorFlagsAreCountedAndSkipped() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(clock: clock)
        device.faults = [2: .sequenceGap(3), 4: .shortPayload(bytes: 700), 5: .errorFlag]
        let (source, log) = try make(device, clock)
        try source.start()
        var sequences: [UInt64] = []
        for _ in 0..<5 {
            let f = try XCTUnwrap(source.nextFrame(timeout: .seconds(1)))
            sequences.append(f.sequence); f.release()
        }
        XCTAssertEqual(sequences, [0, 1, 5, 6, 9])
        XCTAssertTrue(log.events.contains(.dropped(count: 3)))
        XCTAssertEqual(log.events.filter { if case .dropped = $0 { return true } else { return false } }.count, 1,
                       "bad frames are decode errors, not drops")
        XCTAssertEqual(log.decodeErrors.count, 2)
        XCTAssertTrue(log.decodeErrors[0].contains("short MJPEG payload"), log.decodeErrors[0])
        XCTAssertTrue(log.decodeErrors[1].contains("damaged"), log.decodeErrors[1])
        XCTAssertEqual(source.counts.decodeErrors, 2)
        XCTAssertEqual(log.downs, [])
    }

    func testUnplugReportsDownRetriesWithCappedBackoffAndComesBackUp() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(clock: clock)
        device.faults = [3: .unplug]
        let (source, log) = try make(device, clock)
        try source.start()
        for _ in 0..<3 { try XCTUnwrap(source.nextFrame(timeout: .seconds(1))).release() }
        XCTAssertNil(try source.nextFrame(timeout: .seconds(1)))
        XCTAssertEqual(log.downs.count, 1)
        XCTAssertTrue(log.downs[0].contains("/dev/video0"), log.downs[0])
        let attemptsBefore = device.openAttempts.count
        // Stay unplugged for 8 retries, polling the way the capture thread does.
        var calls = 0
        while device.openAttempts.count < attemptsBefore + 8 && calls < 1000 {
            XCTAssertNil(try source.nextFrame(timeout: .seconds(2))); calls += 1
        }
        let times = Array(device.openAttempts.suffix(8))
        let gaps = zip(times.dropFirst(), times).map { Double($0 - $1) / 1e9 }
        XCTAssertEqual(gaps, [2, 4, 8, 16, 30, 30, 30], "1 s doubling to 30 s")
        XCTAssertEqual(log.downs.count, 1, "down is reported once, not per retry")
        device.replug()
        var frame: Frame?
        calls = 0
        while frame == nil && calls < 100 { frame = try source.nextFrame(timeout: .seconds(5)); calls += 1 }
        XCTAssertNotNil(frame)
        XCTAssertEqual(log.ups, 2)
        XCTAssertEqual(source.counts.reconnects, 1)
        XCTAssertTrue(device.isStreaming)
    }

    func testFirstRetryComesOneSecondAfterLoss() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(clock: clock)
        let (source, _) = try make(device, clock)
        try source.start()
        try XCTUnwrap(source.nextFrame(timeout: .seconds(1))).release()
        device.unplug()
        let lostAt = clock.nowNanos()
        XCTAssertNil(try source.nextFrame(timeout: .milliseconds(100)))
        var calls = 0
        let before = device.openAttempts.count
        while device.openAttempts.count == before && calls < 100 { _ = try source.nextFrame(timeout: .milliseconds(300)); calls += 1 }
        let first = try XCTUnwrap(device.openAttempts.last)
        XCTAssertEqual(Double(first - lostAt) / 1e9, 1, accuracy: 0.15)
    }

    func testStallIsReportedAndStreamRestarts() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(clock: clock)
        device.faults = [2: .stall(nanos: 5_000_000_000)]
        let (source, log) = try make(device, clock)
        try source.start()
        var frames = 0
        for _ in 0..<40 {
            if let f = try source.nextFrame(timeout: .seconds(1)) { frames += 1; f.release() }
            if frames >= 5 { break }
        }
        XCTAssertEqual(frames, 5, "frames flow again after the stall")
        XCTAssertGreaterThanOrEqual(log.downs.count, 1)
        XCTAssertTrue(log.downs[0].contains("no frame in 2"), log.downs[0])
        XCTAssertGreaterThanOrEqual(log.ups, 2)
    }

    func testControlsAreSetByNameAndProblemsReportedNotFatal() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(controls: ["exposure_time_absolute": .init(minimum: 1, maximum: 5000, value: 156),
                                                    "auto_exposure": .init(minimum: 0, maximum: 3, value: 3),
                                                    "gain": .init(minimum: 0, maximum: 100, value: 0)], clock: clock)
        let controls = [try CameraControl(name: "auto_exposure", value: 1), try CameraControl(name: "exposure_absolute", value: 200),
                        try CameraControl(name: "gain", value: 500), try CameraControl(name: "focus_absolute", value: 10)]
        let (source, log) = try make(device, clock, controls: controls)
        try source.start()
        XCTAssertEqual(log.events.count, 2)
        XCTAssertEqual(log.events.last, .up)
        guard case .configured(_, let reported)? = log.events.first else { return XCTFail("\(log.events)") }
        XCTAssertEqual(reported, source.controlProblems, "every control not set is reported for the log")
        XCTAssertEqual(device.controlValue("exposure_time_absolute"), 200)
        XCTAssertEqual(device.controlValue("auto_exposure"), 1)
        XCTAssertEqual(device.controlValue("gain"), 0)
        XCTAssertEqual(source.controlProblems.count, 2)
        XCTAssertTrue(source.controlProblems.contains { $0.contains("gain=500 refused") }, "\(source.controlProblems)")
        XCTAssertTrue(source.controlProblems.contains { $0.contains("no control focus_absolute") })
        XCTAssertThrowsError(try CameraControl(name: "exposure_magic", value: 1)) { e in
            XCTAssertTrue("\(e)".contains("unknown camera control 'exposure_magic'"))
        }
    }

    func testControlsAreReadFromTheDriverAfterOpenAndRefreshedWhileStreaming() throws {
        let clock = ManualCaptureClock()
        let device = SimulatedV4L2Device(controls: ["exposure_time_absolute": .init(minimum: 1, maximum: 5000, value: 156),
                                                    "auto_exposure": .init(minimum: 0, maximum: 3, value: 3),
                                                    "focus_automatic_continuous": .init(minimum: 0, maximum: 1, value: 1)],
                                         clock: clock)
        let (source, _) = try make(device, clock, controls: [try CameraControl(name: "exposure_absolute", value: 200)])
        XCTAssertEqual(source.controls, [], "no controls before the camera is open")
        try source.start()
        let read = source.controls
        XCTAssertEqual(read.map(\.name), ["Auto Exposure", "Exposure Time, Absolute", "Focus, Automatic Continuous"],
                       "every control the driver enumerates, in id order, by the driver's names")
        let exposure = try XCTUnwrap(read.first { $0.name == "Exposure Time, Absolute" })
        XCTAssertEqual(exposure.type, "integer")
        XCTAssertEqual(exposure.value, 200, "the value after the config's control was set")
        XCTAssertEqual(exposure.defaultValue, 156)
        XCTAssertEqual(exposure.minimum, 1); XCTAssertEqual(exposure.maximum, 5000); XCTAssertEqual(exposure.step, 1)
        XCTAssertEqual(read.first { $0.name == "Auto Exposure" }?.type, "menu")
        XCTAssertEqual(read.first { $0.name == "Focus, Automatic Continuous" }?.type, "boolean")

        device.drift("exposure_time_absolute", to: 310)
        _ = try XCTUnwrap(source.nextFrame(timeout: .seconds(1)))
        XCTAssertEqual(source.controls.first { $0.name == "Exposure Time, Absolute" }?.value, 200,
                       "values are not re-read on every frame")
        // 90 frames at 30 fps: the simulated camera's clock passes the 2 s refresh interval.
        for _ in 0..<90 { _ = try XCTUnwrap(source.nextFrame(timeout: .seconds(1))) }
        XCTAssertEqual(source.controls.first { $0.name == "Exposure Time, Absolute" }?.value, 310,
                       "a value the camera changed by itself shows after the refresh interval")
        source.stop()
        XCTAssertEqual(source.controls, [], "no controls once the camera is closed")
    }

    func testBadConfigurationThrows() {
        let device = SimulatedV4L2Device()
        XCTAssertThrowsError(try V4L2Source(configuration: .init(cameraID: "c", device: "/dev/video0", formats: []), device: device))
        XCTAssertThrowsError(try V4L2Source(configuration: .init(cameraID: "c", device: "/dev/video0", fps: 0), device: device))
        XCTAssertNil(V4L2PixelFormat(configName: "H264"))
        XCTAssertEqual(V4L2PixelFormat(configName: "y8"), .grey)
    }
}
