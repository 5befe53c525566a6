import CKernels
import Foundation

/// A session's fixed set of threads for work inside one run, created once with the session.
/// Invariant: used by one run at a time (a session is used by one thread at a time).
final class WorkerPool: @unchecked Sendable {
    private let pool: OpaquePointer?
    /// Number of threads taking part in a run, the caller included.
    let threads: Int

    init(threads: Int) {
        pool = threads > 1 ? ck_pool_create(Int32(threads)) : nil
        self.threads = pool.map { Int(ck_pool_threads($0)) } ?? 1
    }

    deinit { if let pool { ck_pool_destroy(pool) } }

    /// Calls `body(0..<tasks)` across the pool and returns when every task is done.
    func parallelFor(_ tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 0 else { return }
        guard threads > 1, tasks > 1 else { for t in 0..<tasks { body(t) }; return }
        withoutActuallyEscaping(body) { escapable in
            var fn = escapable
            withUnsafeMutablePointer(to: &fn) { ptr in
                ck_pool_run(pool, Int32(tasks), { ctx, task in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(task))
                }, ptr)
            }
        }
    }

    /// Splits 0..<n into at most `threads` contiguous ranges (aligned to `align`, each at least `grain` long, so
    /// that waking a thread is never dearer than the work it gets) and runs them in parallel.
    func parallelRanges(_ n: Int, align: Int = 1, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, max(1, n / max(align, grain, 1)))
        guard parts > 1 else { body(0..<n); return }
        let chunk = ((n + parts - 1) / parts + align - 1) / align * align
        parallelFor(parts) { t in
            let lo = min(n, t * chunk), hi = min(n, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }
}
