import Dispatch
import Foundation

/// Turns SIGTERM/SIGINT (stop) and SIGHUP (reload) into calls on a serial queue, so the daemon never does work
/// inside a signal handler.
/// `@unchecked Sendable`: dispatch sources are thread-safe; they are only resumed in init and cancelled.
public final class SignalWatcher: @unchecked Sendable {
    /// What a signal asks for.
    public enum Request: Sendable { case stop(signal: Int32), reload }

    private let sources: [DispatchSourceSignal]

    /// Starts watching; `handler` runs on an internal serial queue, one request at a time.
    public init(handler: @escaping @Sendable (Request) -> Void) {
        let queue = DispatchQueue(label: "inspectd.signals")
        sources = [SIGTERM, SIGINT, SIGHUP].map { sig in
            signal(sig, SIG_IGN)  // the dispatch source sees the signal; the default action must not run
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { handler(sig == SIGHUP ? .reload : .stop(signal: sig)) }
            source.resume()
            return source
        }
    }

    /// Stops watching and restores the default actions.
    public func cancel() {
        for s in sources { s.cancel() }
        for sig in [SIGTERM, SIGINT, SIGHUP] { signal(sig, SIG_DFL) }
    }
}
