import Foundation
import Synchronization

/// A named thread that runs one loop until asked to stop, and can be waited for: the start/stop/join that the
/// capture loops, inference workers, audit writer, outbox pump and MQTT connection each wrote by hand.
///
/// The loop reads ``isStopping``. Whoever asks it to stop also wakes it where it may block (a queue, a
/// device, a condition it waits on; set the flag while holding that condition's lock, then broadcast), and
/// then ``join()``s or ``join(until:)``s. One start per runner.
public final class LoopThread: Sendable {
    private enum State { case idle, running, exited }

    /// Shown in debuggers, `top -H` and core dumps (e.g. `capture-cam1`, `worker-0`, `audit-writer`).
    public let name: String
    private let stopping = Atomic<Bool>(false)
    private let state = Mutex<State>(.idle)
    /// Signalled once when the loop returns; `join` re-signals it so any number of joins return.
    private let exited = DispatchSemaphore(value: 0)

    public init(name: String) { self.name = name }

    /// Starts the thread running `body`. False (and nothing started) when this runner was started before.
    @discardableResult
    public func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let fresh = state.withLock { s in
            guard s == .idle else { return false }
            s = .running
            return true
        }
        guard fresh else { return false }
        let thread = Thread { [self] in
            // Named from inside: on Linux, Foundation does not pass a name set before start to the OS thread
            // (and the kernel keeps 15 bytes of it).
            Thread.current.name = String(name.utf8.prefix(15))!
            body()
            state.withLock { $0 = .exited }
            exited.signal()
        }
        thread.start()
        return true
    }

    /// True from ``start(_:)`` until the loop has returned.
    public var isRunning: Bool { state.withLock { $0 == .running } }

    /// True once ``requestStop()`` was called.
    public var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    /// Asks the loop to leave: it sees ``isStopping`` the next time it looks.
    public func requestStop() { stopping.store(true, ordering: .sequentiallyConsistent) }

    /// Waits for the loop to return (at once if it never started or already returned and was joined).
    public func join() { _ = join(until: nil) }

    /// Waits for the loop to return until `deadline`; false when it is still running then.
    @discardableResult
    public func join(until deadline: Date?) -> Bool {
        if state.withLock({ $0 == .idle }) { return true }
        let result: DispatchTimeoutResult
        if let deadline {
            let wait = max(0, deadline.timeIntervalSinceNow)
            result = exited.wait(timeout: .now() + .nanoseconds(Int(min(wait, 86_400) * 1e9)))
        } else {
            exited.wait(); result = .success
        }
        guard result == .success else { return false }
        exited.signal()  // for the next join
        return true
    }
}
