import Foundation
import XCTest
@testable import Capture
import CaptureTesting
@testable import Imaging

final class ReplaySourceTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let encoder = try JPEGEncoder()
        for (i, name) in ["b.jpg", "a.jpg", "c.JPG"].enumerated() {
            let px = PixelBuffer(capacity: 64 * 48)
            px.width = 64; px.height = 48; px.format = .gray8; px.byteCount = 64 * 48
            px.bytes.initializeMemory(as: UInt8.self, repeating: UInt8(40 * (i + 1)), count: 64 * 48)
            try encoder.encode(px, quality: 90).write(to: dir.appendingPathComponent(name))
        }
        try Data("not an image".utf8).write(to: dir.appendingPathComponent("broken.png"))
        try Data("notes".utf8).write(to: dir.appendingPathComponent("notes.txt"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func drain(_ source: ReplaySource, max: Int = 20) throws -> [String] {
        var origins: [String] = []
        for _ in 0..<max {
            guard let f = try source.nextFrame(timeout: .seconds(1)) else { break }
            origins.append((f.origin as NSString).lastPathComponent)
            XCTAssertEqual(f.sequence, UInt64(origins.count - 1))
            XCTAssertEqual(f.pixels.width, 64)
            f.release()
        }
        return origins
    }

    func testDirectoryIsSortedCorruptFilesSkippedAndFinishedReported() throws {
        let source = try ReplaySource(configuration: .init(cameraID: "r", input: dir.path), clock: ManualCaptureClock())
        let log = EventLog()
        source.onEvent = { log.append($0) }
        try source.start()
        XCTAssertEqual(try drain(source), ["a.jpg", "b.jpg", "broken.png", "c.JPG"].filter { $0 != "broken.png" })
        XCTAssertEqual(log.decodeErrors.count, 1)
        XCTAssertTrue(log.decodeErrors[0].contains("broken.png"), log.decodeErrors[0])
        XCTAssertEqual(source.decodeErrors, 1)
        XCTAssertEqual(log.events.last, .finished)
        XCTAssertNil(try source.nextFrame(timeout: .milliseconds(10)))
    }

    func testLoopStartsOverAndGlobAndListFilesWork() throws {
        let looped = try ReplaySource(configuration: .init(cameraID: "r", input: dir.path + "/*.jpg", loop: true),
                                      clock: ManualCaptureClock())
        try looped.start()
        XCTAssertEqual(try drain(looped, max: 5), ["a.jpg", "b.jpg", "a.jpg", "b.jpg", "a.jpg"])

        let list = dir.appendingPathComponent("frames.list")
        try "# replay order\nc.JPG\n\n\(dir.path)/a.jpg\n".write(to: list, atomically: true, encoding: .utf8)
        let listed = try ReplaySource(configuration: .init(cameraID: "r", input: list.path), clock: ManualCaptureClock())
        try listed.start()
        XCTAssertEqual(try drain(listed), ["c.JPG", "a.jpg"])
    }

    func testPacedToFrameRate() throws {
        let clock = ManualCaptureClock()
        let source = try ReplaySource(configuration: .init(cameraID: "r", input: dir.path + "/*.jpg", fps: 4, loop: true),
                                      clock: clock)
        try source.start()
        let start = clock.nowNanos()
        var times: [UInt64] = []
        for _ in 0..<4 { if let f = try source.nextFrame(timeout: .seconds(1)) { times.append(f.monotonicNanos - start); f.release() } }
        XCTAssertEqual(times, [0, 250_000_000, 500_000_000, 750_000_000])
    }

    /// The images vanish while a looping replay camera runs (directory moved away, share unmounted): it used to
    /// spin through decode errors holding its lock (no frame, no timeout, growing events, a stop that hung); now
    /// a pass with no readable image makes it down, it polls one file per call at the caller's timeout, and it
    /// comes back up, paced afresh, when the images return.
    func testImagesThatVanishMakeTheCameraDownUntilTheyReturn() throws {
        let clock = ManualCaptureClock()
        let source = try ReplaySource(configuration: .init(cameraID: "r", input: dir.path + "/*.jpg", fps: 4, loop: true),
                                      clock: clock)
        let log = EventLog()
        source.onEvent = { log.append($0) }
        try source.start()
        XCTAssertEqual(try drain(source, max: 3), ["a.jpg", "b.jpg", "a.jpg"])

        let away = dir.deletingLastPathComponent().appendingPathComponent(dir.lastPathComponent + "-away")
        try FileManager.default.moveItem(at: dir, to: away)
        for _ in 0..<5 { XCTAssertNil(try source.nextFrame(timeout: .milliseconds(250))) }
        XCTAssertEqual(log.downs.count, 1, "\(log.events)")
        XCTAssertTrue(log.downs.first?.contains("none of the 2 images") ?? false, "\(log.downs)")
        XCTAssertEqual(source.decodeErrors, 1, "only the file before the pass was complete counts as skipped")
        let sleptWhileDown = clock.sleeps.suffix(4)
        XCTAssertTrue(sleptWhileDown.allSatisfy { $0 > 0 }, "each call while down waits out its timeout: \(clock.sleeps)")

        try FileManager.default.moveItem(at: away, to: dir)
        let back = try source.nextFrame(timeout: .milliseconds(250))
        XCTAssertNotNil(back)
        back?.release()
        XCTAssertEqual(log.ups, 2, "up at start and up again: \(log.events)")
        let t0 = clock.nowNanos()
        let next = try source.nextFrame(timeout: .seconds(1))
        XCTAssertEqual(next.map { $0.monotonicNanos - t0 }, 250_000_000, "paced from the return, not catching up")
        next?.release()
        source.stop()
    }

    func testMissingOrEmptyInputIsAConfigurationError() {
        XCTAssertThrowsError(try ReplaySource(configuration: .init(cameraID: "r", input: "/nonexistent/dir"))) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/dir"))
        }
        XCTAssertThrowsError(try ReplaySource(configuration: .init(cameraID: "r", input: dir.path + "/*.bmp")))
    }
}
