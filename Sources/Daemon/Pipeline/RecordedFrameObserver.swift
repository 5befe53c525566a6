import Synchronization

/// The benchmark's hook on each recorded frame: a callback that can be set while frames flow.
///
/// The closure sits in a struct because a closure stored directly in a `Mutex` is wrapped in two more
/// reabstraction thunks by every `withLock` (it goes in and out of the generic `inout` storage): each call then ran
/// through a chain one link longer than the last, so `bench pipeline` grew by about 100 B of heap and 60 B of
/// worker stack per frame, slowed down, and would have overflowed the stack after some 100,000 frames.
final class RecordedFrameObserver: Sendable {
    private struct Callback: Sendable {
        let call: @Sendable (UInt64) -> Void
    }

    private let callback = Mutex<Callback?>(nil)

    /// Replaces the callback; it receives each recorded frame's capture time (monotonic ns).
    func set(_ observer: @escaping @Sendable (UInt64) -> Void) {
        callback.withLock { $0 = Callback(call: observer) }
    }

    /// Calls the callback, if any.
    func notify(captureNanos: UInt64) {
        callback.withLock { $0 }?.call(captureNanos)
    }
}
