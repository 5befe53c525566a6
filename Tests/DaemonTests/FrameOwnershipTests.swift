import Capture
import Foundation
import Imaging
import Logging
import Synchronization
import TestSupport
import XCTest
@testable import Daemon

/// Every pooled frame buffer goes back to its source's pool exactly once, on each path a frame can take:
/// judged, failed, dropped from a full queue, evicted by a queue change or a removed camera, and left waiting
/// or in flight at shutdown. A path that leaked would leave `available < count`; one that returned twice would
/// leave `returns > takes` (and `available > count`).
final class FrameOwnershipTests: XCTestCase {
    private func frame(_ pool: PixelBufferPool, _ camera: String, _ seq: UInt64) throws -> Frame {
        Frame(cameraID: camera, sequence: seq, monotonicNanos: seq, wallClock: Date(), lease: try XCTUnwrap(pool.take()))
    }

    private func assertAllBack(_ pool: PixelBufferPool, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(pool.returns, pool.takes, "\(message): returned \(pool.returns) of \(pool.takes)", file: file, line: line)
        XCTAssertEqual(pool.available, pool.count, "\(message): free \(pool.available) of \(pool.count)", file: file, line: line)
    }

    func testAFrameDroppedFromAFullQueueComesBackOnce() throws {
        let pool = PixelBufferPool(count: 4, capacity: 16)
        let q = FrameQueues()
        q.setCamera("a", capacity: 1, policy: .dropOldest)
        XCTAssertEqual(q.push(try frame(pool, "a", 0), now: 0).isQueued, true)
        XCTAssertEqual(q.push(try frame(pool, "a", 1), now: 0).isQueued, false, "the oldest was dropped")
        XCTAssertEqual(pool.returns, 1, "the dropped frame's buffer is back as soon as the drop result is gone")
        let job = try XCTUnwrap(q.pop()?.job)
        job.frame.release()  // what a worker does after judging (or failing) the frame
        job.frame.release()  // a second release is harmless
        XCTAssertEqual(pool.returns, 2)
        assertAllBack(pool, "after judging")
    }

    func testFramesRejectedEvictedOrRemovedComeBackOnce() throws {
        let pool = PixelBufferPool(count: 8, capacity: 16)
        let q = FrameQueues()
        q.setCamera("a", capacity: 3, policy: .dropOldest)
        for s in 0..<3 { _ = q.push(try frame(pool, "a", UInt64(s)), now: 0) }
        XCTAssertEqual(q.setCamera("a", capacity: 1, policy: .dropOldest).count, 2, "a smaller queue evicts two")
        XCTAssertEqual(pool.returns, 2)
        XCTAssertEqual(q.push(try frame(pool, "b", 9), now: 0).isQueued, false, "no queue for camera b")
        XCTAssertEqual(pool.returns, 3)
        XCTAssertEqual(q.removeCamera("a").count, 1)
        assertAllBack(pool, "after evictions and removal")
    }

    func testShutdownWithFramesWaitingAndInFlightReturnsEachOnce() throws {
        let pool = PixelBufferPool(count: 6, capacity: 16)
        let q = FrameQueues()
        q.setCamera("a", capacity: 4, policy: .block)
        for s in 0..<4 { _ = q.push(try frame(pool, "a", UInt64(s)), now: 0) }
        let inFlight = try XCTUnwrap(q.pop()?.job)  // a worker has started this one
        XCTAssertEqual(q.closeAndTakeWaiting().count, 3)
        XCTAssertEqual(pool.returns, 3, "waiting frames are back once the shutdown dropped them")
        XCTAssertEqual(q.push(try frame(pool, "a", 9), now: 0).isQueued, false, "closed")
        XCTAssertEqual(pool.returns, 4)
        XCTAssertNil(q.pop())
        inFlight.frame.release()
        assertAllBack(pool, "after shutdown")
    }

    /// The real pipeline on its own threads: a synthetic camera faster than the one worker (queue drops) and a
    /// replay camera alternating a whole and a truncated JPEG (judged and failed frames), stopped while frames
    /// wait and one is in flight. Every buffer of both sources must be back in its pool, exactly once.
    func testThePipelineReturnsEveryBufferOnceOnEveryPath() throws {
        let dir = try TestProcess.temporaryDirectory("inspectd-frame-ownership")
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let picture = PixelBuffer(capacity: 320 * 240 * 3)
        picture.width = 320; picture.height = 240; picture.format = .rgb24; picture.byteCount = 320 * 240 * 3
        let p = picture.bytes.assumingMemoryBound(to: UInt8.self)
        for i in 0..<picture.byteCount { p[i] = UInt8(truncatingIfNeeded: (i / 3 % 320) ^ (i / 960)) }
        let jpeg = try JPEGEncoder().encode(picture)
        try jpeg.write(to: images.appendingPathComponent("a-whole.jpg"))
        try jpeg.prefix(jpeg.count / 2).write(to: images.appendingPathComponent("b-truncated.jpg"))

        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        let config = try InspectdConfig.parse(yaml: """
            site: {line: own, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: synth
                source: {type: synthetic, width: 320, height: 320, fps: 50, defects_per_frame: 1}
                queue_size: 1
                overload: drop_oldest
              - id: replay
                source: {type: replay, path: \(images.path), loop: true, fps: 20}
                queue_size: 1
                overload: drop_oldest
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            metrics: {enabled: false}
            """, file: dir.appendingPathComponent("inspectd.yaml").path, baseDirectory: dir.path, revision: "r1")
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30))
        let pipeline = try Pipeline(config: config, metrics: metrics, health: health, logger: Logger(label: "test.ownership"))
        let pools = try ["synth", "replay"].map { id -> (String, PixelBufferPool) in
            let source = try XCTUnwrap(pipeline.lane(id)?.source)
            if let s = source as? SyntheticSource { return (id, s.pool) }
            return (id, try XCTUnwrap(source as? ReplaySource).pool)
        }
        pipeline.start()

        /// Polls `condition` for up to `seconds` (a generous limit, not a timing assertion).
        func eventually(_ seconds: Double = 300, _ condition: () -> Bool) -> Bool {
            let limit = Date().addingTimeInterval(seconds)
            while Date() < limit { if condition() { return true }; Thread.sleep(forTimeInterval: 0.2) }
            return condition()
        }
        func counter(_ series: String) -> Double {
            metrics.exposition().split(separator: "\n").first { $0.hasPrefix(series + " ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        XCTAssertTrue(eventually { counter("inspectd_frames_dropped_total{camera=\"synth\"}") > 0 }, "no queue drop")
        XCTAssertTrue(eventually { counter("inspectd_frame_errors_total{camera=\"replay\",reason=\"truncated_jpeg\"}") > 0 },
                      "no failed frame: \(metrics.exposition())")
        XCTAssertTrue(eventually { counter("inspectd_frames_processed_total{camera=\"replay\"}") > 0 }, "no judged frame")

        let stopped = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { stopped.withLock { $0 = pipeline.stop(timeout: .seconds(60)) }; done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 300), .success, "stop did not return")
        XCTAssertEqual(stopped.withLock { $0 }, true)
        for (id, pool) in pools {
            XCTAssertGreaterThan(pool.takes, 0, id)
            assertAllBack(pool, id)
        }
    }
}

private extension FrameQueues.PushResult {
    var isQueued: Bool { if case .queued = self { return true }; return false }
}
