import Capture
import Foundation
import Imaging
import Synchronization
import TestSupport
import XCTest
@testable import Daemon

/// The bounded queues' overload policies and the per-camera in-order stage.
final class PipelineQueueTests: XCTestCase {
    func frame(_ camera: String, _ seq: UInt64) -> Frame {
        Frame(cameraID: camera, sequence: seq, monotonicNanos: seq, wallClock: Date(), pixels: PixelBuffer(capacity: 1))
    }

    func testDropOldestKeepsTheNewestFramesAndReportsTheDrop() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 2, policy: .dropOldest)
        for s in 0..<2 { guard case .queued = q.push(frame("a", UInt64(s)), now: 0) else { return XCTFail() } }
        guard case .droppedOldest(let old, _) = q.push(frame("a", 2), now: 0) else { return XCTFail("no drop") }
        XCTAssertEqual(old.sequence, 0)
        XCTAssertEqual(q.pop()?.job.map { [$0.frame.sequence, $0.ticket] }, [1, 0])
        XCTAssertEqual(q.pop()?.job.map { [$0.frame.sequence, $0.ticket] }, [2, 1])
    }

    func testBlockWaitsForRoomAndCloseDrains() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 1, policy: .block)
        _ = q.push(frame("a", 0), now: 0)
        let pushed = expectation(description: "second push returns once a worker took a frame")
        let f1 = frame("a", 1)
        Thread.detachNewThread { () in
            if case .queued = q.push(f1, now: 0) { pushed.fulfill() }
        }
        XCTAssertEqual(q.depth("a"), 1)
        XCTAssertEqual(q.pop()?.job?.frame.sequence, 0)
        wait(for: [pushed], timeout: 5)
        q.close()
        guard case .rejected = q.push(frame("a", 2), now: 0) else { return XCTFail("push after close") }
        XCTAssertEqual(q.pop()?.job?.frame.sequence, 1, "frames queued before close are still handed out")
        XCTAssertNil(q.pop())
    }

    /// A capture thread waiting for room in a full `block` queue (no worker left to take frames) must leave
    /// when its capture stops, or stopping the camera hangs.
    func testABlockedPushLeavesWhenItsCaptureStops() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 1, policy: .block)
        _ = q.push(frame("a", 0), now: 0)
        let stopping = Atomic<Bool>(false)
        let left = expectation(description: "the blocked push returns rejected once its capture stops")
        let f1 = frame("a", 1)
        Thread.detachNewThread { () in
            if case .rejected = q.push(f1, now: 0, shouldStop: { stopping.load(ordering: .sequentiallyConsistent) }) {
                left.fulfill()
            }
        }
        stopping.store(true, ordering: .sequentiallyConsistent)
        q.interrupt()
        wait(for: [left], timeout: 30)
        XCTAssertEqual(q.depth("a"), 1, "the waiting frame was not queued")
    }

    /// A lane built ahead (reload) owns a fresh generation; attaching it replaces a queue left under its id.
    func testAQueueAttachedWithANewGenerationReplacesTheOldOne() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 2, policy: .block)
        _ = q.push(frame("a", 0), now: 0)
        let old = q.generation(of: "a")
        let reserved = q.newGeneration()
        XCTAssertNotEqual(reserved, old)
        XCTAssertEqual(q.generation(of: "a"), old, "reserving a generation changes no queue")
        XCTAssertEqual(q.setCamera("a", capacity: 2, policy: .block, generation: reserved).map(\.sequence), [0])
        XCTAssertEqual(q.generation(of: "a"), reserved)
        _ = q.push(frame("a", 5), now: 0)
        XCTAssertEqual(q.pop()?.job.map { [$0.frame.sequence, $0.ticket, $0.generation] }, [5, 0, reserved])
    }

    func testShutdownTakesTheWaitingFrames() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 4, policy: .block)
        for s in 0..<3 { _ = q.push(frame("a", UInt64(s)), now: 0) }
        XCTAssertEqual(q.pop()?.job?.frame.sequence, 0)
        XCTAssertEqual(q.closeAndTakeWaiting().map(\.sequence), [1, 2])
        XCTAssertNil(q.pop())
    }

    func testACameraAddedAgainGetsANewGenerationAndFreshTickets() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 2, policy: .block)
        let first = q.generation(of: "a")
        _ = q.push(frame("a", 0), now: 0)
        XCTAssertEqual(q.pop()?.job?.generation, first)
        q.setCamera("a", capacity: 3, policy: .dropOldest)  // resizing keeps the incarnation
        XCTAssertEqual(q.generation(of: "a"), first)
        _ = q.removeCamera("a")
        q.setCamera("a", capacity: 2, policy: .block)
        XCTAssertNotEqual(q.generation(of: "a"), first)
        _ = q.push(frame("a", 1), now: 0)
        XCTAssertEqual(q.pop()?.job?.ticket, 0)
    }

    func testCamerasAreServedInTurn() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 4, policy: .block); q.setCamera("b", capacity: 4, policy: .block)
        for s in 0..<3 { _ = q.push(frame("a", UInt64(s)), now: 0) }
        _ = q.push(frame("b", 10), now: 0)
        XCTAssertEqual((0..<4).compactMap { _ in q.pop()?.job?.frame.cameraID }, ["a", "b", "a", "a"])
    }

    func testResizingAndRemovingReturnFramesToRecycle() {
        let q = FrameQueues()
        q.setCamera("a", capacity: 3, policy: .dropOldest)
        for s in 0..<3 { _ = q.push(frame("a", UInt64(s)), now: 0) }
        XCTAssertEqual(q.setCamera("a", capacity: 1, policy: .dropOldest).map(\.sequence), [0, 1])
        XCTAssertEqual(q.removeCamera("a").map(\.sequence), [2])
        guard case .rejected = q.push(frame("a", 3), now: 0) else { return XCTFail("removed camera accepted a frame") }
    }

    func testInOrderStageHandlesTicketsInSequenceWhateverTheCompletionOrder() {
        let stage = InOrderStage<Int>()
        let handled = NSLock()
        nonisolated(unsafe) var order: [Int] = []
        let tickets = (0..<400).shuffled()
        DispatchQueue.concurrentPerform(iterations: tickets.count) { i in
            stage.complete(UInt64(tickets[i]), tickets[i]) { v in handled.lock(); order.append(v); handled.unlock() }
        }
        XCTAssertEqual(order, Array(0..<400))
        XCTAssertEqual(stage.waitingCount, 0)
    }

    /// API images wait in their own bounded queue, served in turn with the cameras; a full or closed queue
    /// refuses at once.
    func testAPIRequestsTakeTheirTurnAndAreBounded() throws {
        let dir = FileManager.default.temporaryDirectory.path
        let config = try InspectdConfig.parse(yaml: """
            site: {line: q, station: s1}
            model: {path: \(TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path)}
            cameras: []
            """, file: dir + "/inspectd.yaml", baseDirectory: dir, revision: "r1")
        let names = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]
        let rules = try DetectionRules.detectionSection(config, outputShape: [1, 10, 8400], classNames: names)
        let request = DetectRequest(image: Data(), rules: rules, camera: nil, enqueuedAt: 0, finish: { _ in })
        let q = FrameQueues()
        q.setCamera("a", capacity: 4, policy: .block)
        q.setRequestCapacity(2)
        for s in 0..<3 { _ = q.push(frame("a", UInt64(s)), now: 0) }
        XCTAssertTrue(q.submit(request)); XCTAssertTrue(q.submit(request))
        XCTAssertFalse(q.submit(request), "a third image waits beyond http.detect_queue")
        let kinds = (0..<5).compactMap { _ in q.pop().map { $0.job == nil ? "api" : "a" } }
        XCTAssertEqual(kinds, ["a", "api", "a", "api", "a"])
        q.close()
        XCTAssertFalse(q.submit(request), "closed: refused")
        XCTAssertTrue(q.takeRequests().isEmpty)
    }

}
