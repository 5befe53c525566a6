@testable import Daemon
import Delivery
import XCTest

/// The rule that picks a triggered camera's frame, and the bounds around it: a frame captured before the
/// trigger (plus delay) is never taken for it; triggers are served in order, at most `queue` wait, a retried
/// trigger id joins the first, and nothing is left unanswered.
final class TriggerBookTests: XCTestCase {
    private let ms: UInt64 = 1_000_000
    private func book(delay: Duration = .milliseconds(100), timeout: Duration = .seconds(1), queue: Int = 2) -> TriggerBook {
        TriggerBook(camera: "c", settings: .init(mode: .software, delay: delay, timeout: timeout, queue: queue))
    }
    private func part(_ id: String, trigger: String? = nil) -> PartFields { PartFields(partID: id, triggerID: trigger, source: "http") }
    private func queued(_ a: TriggerBook.Admission) -> PendingTrigger? { if case .queued(let t) = a { t } else { nil } }

    func testTheFirstFrameCapturedAtOrAfterTheTriggerPlusDelayIsTakenNeverAnOlderBufferedOne() throws {
        let b = book()
        let t = try XCTUnwrap(queued(b.submit(part("P1"), now: 1000 * ms)))
        XCTAssertEqual(t.notBefore, 1100 * ms)
        // Frames at 30 fps: those captured before 1100 ms (buffered before the part settled) are passed over.
        for stamp in stride(from: 1000 * ms, to: 1100 * ms, by: Int(33 * ms)) {
            XCTAssertNil(b.claim(frameNanos: stamp, now: 1200 * ms), "frame at \(stamp / ms) ms")
        }
        XCTAssertTrue(b.claim(frameNanos: 1100 * ms, now: 1200 * ms) === t, "the frame at exactly trigger + delay")
        XCTAssertNil(b.claim(frameNanos: 1133 * ms, now: 1200 * ms), "one frame per trigger")
    }

    func testTriggersAreServedInOrderAndTheQueueIsBounded() throws {
        let b = book(delay: .zero)
        let t1 = try XCTUnwrap(queued(b.submit(part("P1"), now: 10 * ms)))
        let t2 = try XCTUnwrap(queued(b.submit(part("P2"), now: 20 * ms)))
        guard case .refused(_, .queueFull) = b.submit(part("P3"), now: 30 * ms) else { return XCTFail("a third trigger waits") }
        XCTAssertFalse(b.hasDue(now: 5 * ms))
        XCTAssertTrue(b.hasDue(now: 10 * ms))
        XCTAssertTrue(b.claim(frameNanos: 15 * ms, now: 40 * ms) === t1, "the older trigger first")
        XCTAssertTrue(b.claim(frameNanos: 25 * ms, now: 40 * ms) === t2)
    }

    func testARetriedTriggerIDJoinsTheFirstAndGetsItsResult() throws {
        let b = book()
        let t = try XCTUnwrap(queued(b.submit(part("P1", trigger: "id-1"), now: 0)))
        guard case .repeated(let again) = b.submit(part("P1", trigger: "id-1"), now: 5 * ms) else { return XCTFail("not joined") }
        XCTAssertTrue(again === t)
        let answers = LockedList()
        t.onResult { answers.add($0.sequence) }
        again.onResult { answers.add($0.sequence) }
        XCTAssertTrue(t.finish(TriggerResult(camera: "c", part: t.part, inspection: nil, sequence: 42, failure: nil,
                                             message: "", latencyNanos: 1)))
        XCTAssertFalse(t.finish(TriggerResult(camera: "c", part: t.part, inspection: nil, sequence: 43, failure: .timeout,
                                              message: "", latencyNanos: 1)), "answered once")
        XCTAssertEqual(answers.values, [42, 42])
        // Still known once finished: a late retry gets the same result at once, without a new inspection.
        guard case .repeated(let late) = b.submit(part("P1", trigger: "id-1"), now: 9 * ms) else { return XCTFail("forgotten") }
        late.onResult { answers.add($0.sequence) }
        XCTAssertEqual(answers.values, [42, 42, 42])
    }

    func testUnservedTriggersExpireAndClosingTakesEveryUnfinishedOne() throws {
        let b = book(delay: .milliseconds(100), timeout: .milliseconds(200))
        let t1 = try XCTUnwrap(queued(b.submit(part("P1"), now: 0)))
        XCTAssertTrue(b.expired(now: 300 * ms).isEmpty, "not before trigger + delay + timeout")
        XCTAssertTrue(b.expired(now: 301 * ms).first === t1)
        let t2 = try XCTUnwrap(queued(b.submit(part("P2"), now: 400 * ms)))
        XCTAssertTrue(b.claim(frameNanos: 500 * ms, now: 500 * ms) === t2)
        XCTAssertTrue(b.expired(now: 600 * ms).isEmpty, "a claimed trigger waits for its frame's verdict")
        let t3 = try XCTUnwrap(queued(b.submit(part("P3"), now: 600 * ms)))
        let open = b.close()
        XCTAssertEqual(Set(open.map(\.part.partID)), ["P2", "P3"])
        _ = t3
        guard case .refused(_, .stopping) = b.submit(part("P4"), now: 700 * ms) else { return XCTFail("closed book took a trigger") }
    }
}

private final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [UInt64] = []
    func add(_ v: UInt64) { lock.withLock { list.append(v) } }
    var values: [UInt64] { lock.withLock { list } }
}
