import Dispatch
import Foundation

/// Sends `WATCHDOG=1` every half watchdog period, but only while the pipeline makes progress (frames finish,
/// or nothing is waiting: sources legitimately idle or cameras down). A stalled pipeline stops the pings, so
/// systemd restarts the service; a camera problem does not, because a restart would not fix it.
/// `@unchecked Sendable`: a dispatch source is thread-safe; it is only resumed in init and cancelled.
public final class Watchdog: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let queue = DispatchQueue(label: "inspectd.watchdog")

    /// Starts pinging; returns nil when systemd asked for no watchdog. `isMakingProgress` is called once per
    /// period on the watchdog's queue.
    public init?(notifier: SystemdNotifier, isMakingProgress: @escaping @Sendable () -> Bool) {
        guard let timeout = notifier.watchdogTimeout else { return nil }
        let period = timeout / 2
        let nanos = period.components.seconds * 1_000_000_000 + period.components.attoseconds / 1_000_000_000
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: .nanoseconds(Int(nanos)), leeway: .milliseconds(10))
        timer.setEventHandler { if isMakingProgress() { notifier.watchdog() } }
        timer.resume()
    }

    /// Stops pinging.
    public func cancel() { timer.cancel() }
}
