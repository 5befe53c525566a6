import Delivery
import Foundation
import Synchronization

/// One accepted trigger, from its arrival until its result: which part, when a frame may be taken for it, and
/// who waits for the answer. Finished exactly once (the first `finish` wins: a frame's verdict, a timeout, a
/// shutdown); a retry of the same `trigger_id` may wait on it too.
final class PendingTrigger: Sendable {
    let camera: String
    let part: PartFields
    /// When it arrived (CLOCK_MONOTONIC ns, the clock of frame timestamps).
    let arrivedAt: UInt64
    /// The first capture time a frame may have to be taken for it (arrival + `trigger.delay`).
    let notBefore: UInt64
    /// After this, with no frame taken, it fails with `timeout` (`notBefore` + `trigger.timeout`).
    let deadline: UInt64
    private let state = Mutex<(result: TriggerResult?, waiters: [@Sendable (TriggerResult) -> Void])>((nil, []))

    init(camera: String, part: PartFields, arrivedAt: UInt64, settings: CameraConfig.Trigger) {
        self.camera = camera; self.part = part; self.arrivedAt = arrivedAt
        notBefore = arrivedAt &+ Self.nanos(settings.delay)
        deadline = notBefore &+ Self.nanos(settings.timeout)
    }

    /// Calls `waiter` with the result: now if it is in, else when it comes.
    func onResult(_ waiter: @escaping @Sendable (TriggerResult) -> Void) {
        let done = state.withLock { s -> TriggerResult? in
            if s.result == nil { s.waiters.append(waiter) }
            return s.result
        }
        if let done { waiter(done) }
    }

    /// Sets the result and tells every waiter; false (and nothing happens) when it was finished already.
    @discardableResult
    func finish(_ result: TriggerResult) -> Bool {
        let waiters = state.withLock { s -> [@Sendable (TriggerResult) -> Void]? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        guard let waiters else { return false }
        for w in waiters { w(result) }
        return true
    }

    /// Whether it has its result.
    var isFinished: Bool { state.withLock { $0.result != nil } }

    static func nanos(_ d: Duration) -> UInt64 {
        let (s, a) = d.components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, a) / 1_000_000_000)
    }
}
