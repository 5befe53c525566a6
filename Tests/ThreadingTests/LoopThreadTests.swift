import Foundation
import Synchronization
import Threading
import XCTest

/// The runner every long-lived loop shares: the loop runs on its own named thread until asked to stop, `join`
/// returns only after the loop has returned (any number of times), and a deadline bounds the wait.
final class LoopThreadTests: XCTestCase {
    func testTheLoopRunsUntilAskedToStopAndJoinWaitsForIt() {
        let runner = LoopThread(name: "test-loop")
        let finished = Atomic<Bool>(false)
        let started = DispatchSemaphore(value: 0)
        let name = Mutex<String?>(nil)
        XCTAssertTrue(runner.start {
            name.withLock { $0 = Thread.current.name }
            started.signal()
            while !runner.isStopping { Thread.sleep(forTimeInterval: 0.001) }
            finished.store(true, ordering: .sequentiallyConsistent)
        })
        started.wait()
        XCTAssertTrue(runner.isRunning)
        XCTAssertFalse(runner.isStopping)
        XCTAssertEqual(name.withLock { $0 }, "test-loop")
        runner.requestStop()
        runner.join()
        XCTAssertTrue(finished.load(ordering: .sequentiallyConsistent), "join returned before the loop did")
        XCTAssertFalse(runner.isRunning)
        runner.join()  // a second join returns too
        XCTAssertTrue(runner.join(until: Date()))
    }

    func testJoinWithADeadlineReportsALoopThatDidNotStop() {
        let runner = LoopThread(name: "test-stuck")
        let release = DispatchSemaphore(value: 0)
        runner.start { release.wait() }  // ignores isStopping: a loop blocked where nobody woke it
        runner.requestStop()
        XCTAssertFalse(runner.join(until: Date(timeIntervalSinceNow: 0.05)))
        XCTAssertTrue(runner.isRunning)
        release.signal()
        XCTAssertTrue(runner.join(until: Date(timeIntervalSinceNow: 60)))
    }

    func testARunnerStartsOnceAndAnUnstartedOneJoinsAtOnce() {
        let idle = LoopThread(name: "test-idle")
        XCTAssertTrue(idle.join(until: Date()), "nothing to wait for")
        let runner = LoopThread(name: "test-once")
        let runs = Atomic<Int>(0)
        XCTAssertTrue(runner.start { runs.add(1, ordering: .relaxed) })
        XCTAssertFalse(runner.start { runs.add(1, ordering: .relaxed) })
        runner.join()
        XCTAssertEqual(runs.load(ordering: .relaxed), 1)
    }
}
