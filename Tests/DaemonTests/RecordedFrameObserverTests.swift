import Synchronization
import XCTest
@testable import Daemon

/// The benchmark hook on recorded frames must cost the same on the millionth frame as on the first.
final class RecordedFrameObserverTests: XCTestCase {
    /// A closure kept directly in a `Mutex` gained two thunks per call, so each call ran deeper on the stack than
    /// the one before; here the callback's stack address must not move between the 2nd and the 20,000th call.
    func testEveryCallRunsAtTheSameStackDepth() {
        let observer = RecordedFrameObserver()
        let seen = Mutex<(count: Int, last: UInt64, addresses: [Int: UInt])>((0, 0, [:]))
        observer.set { capture in
            var marker = capture
            let address = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
            seen.withLock { s in
                s.count += 1
                s.last = capture
                if s.count == 2 || s.count == 20_000 { s.addresses[s.count] = address }
            }
        }
        for i in 1...20_000 { observer.notify(captureNanos: UInt64(i)) }
        let result = seen.withLock { $0 }
        XCTAssertEqual(result.count, 20_000)
        XCTAssertEqual(result.last, 20_000)
        XCTAssertNotNil(result.addresses[2])
        XCTAssertEqual(result.addresses[2], result.addresses[20_000],
                       "the callback runs deeper on each call: the observer is being re-wrapped")
    }

    func testANewCallbackReplacesTheOldOne() {
        let observer = RecordedFrameObserver()
        observer.notify(captureNanos: 1)  // none set: nothing happens
        let first = Atomic<Int>(0), second = Atomic<Int>(0)
        observer.set { _ in first.add(1, ordering: .relaxed) }
        observer.notify(captureNanos: 2)
        observer.set { _ in second.add(1, ordering: .relaxed) }
        observer.notify(captureNanos: 3)
        observer.notify(captureNanos: 4)
        XCTAssertEqual(first.load(ordering: .relaxed), 1)
        XCTAssertEqual(second.load(ordering: .relaxed), 2)
    }
}
