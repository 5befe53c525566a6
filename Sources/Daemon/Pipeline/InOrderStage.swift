import Foundation

/// Puts one camera's frames back in order after the worker pool: workers finish out of order, but the
/// stateful part of detection (adaptive thresholds, line rules) must see a camera's frames in sequence.
/// Whichever worker completes the next expected ticket runs `handle` for it and for every consecutive result
/// already waiting; only one thread handles a camera at a time. At most one result per worker waits here.
///
/// `@unchecked Sendable`: state is guarded by `lock`; `handle` runs outside it, serialized by `draining`.
final class InOrderStage<Result>: @unchecked Sendable {
    private let lock = NSLock()
    private var waiting: [UInt64: Result] = [:]
    private var next: UInt64
    private var draining = false

    /// `first` is the first ticket to expect.
    init(first: UInt64 = 0) { next = first }

    /// Hands in the result for `ticket`. Every ticket must be completed exactly once (failed frames too), or
    /// the camera's later results wait forever.
    func complete(_ ticket: UInt64, _ result: Result, handle: (Result) -> Void) {
        lock.lock()
        waiting[ticket] = result
        if draining { lock.unlock(); return }
        draining = true
        while let r = waiting.removeValue(forKey: next) {
            next += 1
            lock.unlock()
            handle(r)
            lock.lock()
        }
        draining = false
        lock.unlock()
    }

    /// Results waiting for an earlier ticket.
    var waitingCount: Int { lock.lock(); defer { lock.unlock() }; return waiting.count }
}
