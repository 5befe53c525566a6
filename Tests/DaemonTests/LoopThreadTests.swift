import Foundation
import Synchronization
import XCTest
@testable import Daemon

/// The runner the pipeline's threads share: a loop runs on its own thread until asked to stop, and
/// `join` returns only after the loop has returned.
final class LoopThreadTests: XCTestCase {
    func testTheLoopRunsUntilAskedToStopAndJoinWaitsForIt() {
        let runner = LoopThread(name: "test-loop")
        let turns = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)
        let started = DispatchSemaphore(value: 0)
        runner.start {
            started.signal()
            while !runner.isStopping { turns.add(1, ordering: .relaxed); Thread.sleep(forTimeInterval: 0.001) }
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        started.wait()
        XCTAssertFalse(runner.isStopping)
        runner.requestStop()
        XCTAssertTrue(runner.isStopping)
        runner.join()
        XCTAssertTrue(finished.load(ordering: .sequentiallyConsistent), "join returned before the loop did")
    }
}
