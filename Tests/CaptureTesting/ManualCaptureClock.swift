import Capture
import Foundation

/// A clock that only moves when slept on or advanced: for tests and the simulated device that must not wait.
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
