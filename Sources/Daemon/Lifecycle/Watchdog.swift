import Dispatch
import Foundation

/// Sends `WATCHDOG=1` every half watchdog period, but only while the pipeline makes progress (frames finish,
/// or nothing is waiting: sources legitimately idle or cameras down). A stalled pipeline stops the pings, so
/// systemd restarts the service; a camera problem does not, because a restart would not fix it.
/// `@unchecked Sendable`: a dispatch source is thread-safe; it is only resumed in init and cancelled.
public final class Watchdog: @unchecked Sendable {
    private let timer: DispatchSourceTimer?
    private let queue = DispatchQueue(label: "inspectd.watchdog")
    private let notifier: SystemdNotifier
    private let isMakingProgress: @Sendable () -> Bool

    /// Starts pinging; returns nil when systemd asked for no watchdog. `isMakingProgress` is called once per
    /// period on the watchdog's queue.
    public convenience init?(notifier: SystemdNotifier, isMakingProgress: @escaping @Sendable () -> Bool) {
        self.init(notifier: notifier, timer: true, isMakingProgress: isMakingProgress)
    }

    /// With `timer: false` nothing runs by itself: each `tick()` is one period (tests drive it, so they need
    /// no wall-clock timing).
    init?(notifier: SystemdNotifier, timer: Bool, isMakingProgress: @escaping @Sendable () -> Bool) {
        guard let timeout = notifier.watchdogTimeout else { return nil }
        self.notifier = notifier; self.isMakingProgress = isMakingProgress
        guard timer else { self.timer = nil; return }
        let period = timeout / 2
        let nanos = period.components.seconds * 1_000_000_000 + period.components.attoseconds / 1_000_000_000
        let source = DispatchSource.makeTimerSource(queue: queue)
        source.schedule(deadline: .now(), repeating: .nanoseconds(Int(nanos)), leeway: .milliseconds(10))
        self.timer = source
        source.setEventHandler { [weak self] in self?.tick() }
        source.resume()
    }

    /// One watchdog period: pings if the pipeline made progress since the last period. Returns whether it pinged.
    @discardableResult
    func tick() -> Bool {
        guard isMakingProgress() else { return false }
        notifier.watchdog()
        return true
    }

    /// Stops pinging.
    public func cancel() { timer?.cancel() }
}
