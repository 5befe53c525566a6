import Foundation
import Synchronization

/// A named thread that runs one loop until asked to stop, and can be waited for: the start/stop/join a
/// capture loop and an inference worker each wrote by hand. The loop reads `isStopping`; whoever asks it to
/// stop also wakes it where it may block (a queue, a device), then `join`s.
final class LoopThread: Sendable {
    private let name: String
    private let stopping = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    /// `name` shows in debuggers and `top -H` (e.g. `capture-cam1`, `worker-0`).
    init(name: String) { self.name = name }

    /// Starts the thread running `body`; `join` returns once it returned.
    func start(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [exited] in
            defer { exited.signal() }
            body()
        }
        thread.name = name
        thread.start()
    }

    /// True once `requestStop` was called.
    var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    /// Asks the loop to leave (it sees `isStopping` the next time it looks).
    func requestStop() { stopping.store(true, ordering: .sequentiallyConsistent) }

    /// Waits for the thread to finish (once per start).
    func join() { exited.wait() }
}
