import Foundation

/// Monotonic time and sleeping for the capture code, injectable so tests of stalls and the 1 s → 30 s
/// reconnect backoff run instantly.
public protocol CaptureClock: AnyObject, Sendable {
    /// CLOCK_MONOTONIC now, nanoseconds.
    func nowNanos() -> UInt64
    /// Waits `nanos` (a manual clock just advances).
    func sleep(nanos: UInt64)
}

/// The real clock: CLOCK_MONOTONIC and nanosleep.
public final class SystemCaptureClock: CaptureClock {
    /// Shared instance.
    public static let shared = SystemCaptureClock()
    /// Makes the clock.
    public init() {}
    public func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
    public func sleep(nanos: UInt64) {
        guard nanos > 0 else { return }
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// A clock that only moves when slept on or advanced: for tests (and simulated devices) that must not wait.
public final class ManualCaptureClock: CaptureClock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: UInt64
    private var slept: [UInt64] = []
    /// Starts at `startNanos`.
    public init(startNanos: UInt64 = 1_000_000_000) { now = startNanos }
    public func nowNanos() -> UInt64 { lock.withLock { now } }
    public func sleep(nanos: UInt64) { lock.withLock { now += nanos; slept.append(nanos) } }
    /// Moves time forward without recording a sleep.
    public func advance(nanos: UInt64) { lock.withLock { now += nanos } }
    /// Every sleep so far, in order.
    public var sleeps: [UInt64] { lock.withLock { slept } }
}
