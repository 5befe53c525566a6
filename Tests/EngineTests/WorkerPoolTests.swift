import CKernels
import Foundation
import XCTest

/// The C thread pool under the engine: every task of a region runs exactly once and the region returns only
/// after all of them, with more threads than cores (so workers are often descheduled or asleep when a region
/// starts) and with pauses long enough for workers to fall asleep between regions.
final class WorkerPoolTests: XCTestCase {
    final class Counts: @unchecked Sendable {
        let slots = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        init() { slots.initialize(repeating: 0, count: 64) }
        deinit { slots.deallocate() }
    }

    func testEveryTaskRunsOnceAndRegionsWaitForThem() throws {
        let threads = ProcessInfo.processInfo.activeProcessorCount + 2
        let pool = try XCTUnwrap(ck_pool_create(Int32(threads)))
        defer { ck_pool_destroy(pool) }
        XCTAssertEqual(Int(ck_pool_threads(pool)), threads)
        let counts = Counts()
        var rng = SystemRandomNumberGenerator()
        for region in 0..<150_000 {
            let tasks = Int.random(in: 1...40, using: &rng)
            counts.slots[63] = region % 97 == 0 ? 1 : 0  // then task 0 is slow: the caller waits for a worker
            ck_pool_run(pool, Int32(tasks), { ctx, task in
                let c = Unmanaged<Counts>.fromOpaque(ctx!).takeUnretainedValue()
                if task == 0, c.slots[63] != 0 { usleep(200) }
                c.slots[Int(task)] += 1
            }, Unmanaged.passUnretained(counts).toOpaque())
            for t in 0..<tasks where counts.slots[t] != 1 {
                XCTFail("region \(region): task \(t) of \(tasks) ran \(counts.slots[t]) times"); return
            }
            for t in 0..<tasks { counts.slots[t] = 0 }
            if region % 10_000 == 9_999 { usleep(20_000) }  // workers go to sleep on the condition variable
        }
    }
}

