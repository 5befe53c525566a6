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
