import Dispatch
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The station's one HTTP listener (Hummingbird 2): the v1 API under `/api/v1`, Prometheus metrics on
/// `/metrics` and health on `/healthz`. It reaches the station only through `StationAPI`.
///
/// Synchronous to start and stop, because the daemon's service loop is: `init` returns once the address is bound
/// (or throws why it cannot be), `shutdown` once the listener is closed. The server runs in its own
/// `ServiceGroup` without signal handlers: the daemon handles SIGTERM/SIGHUP itself.
public final class APIServer: Sendable {
    /// Where and how to listen (`http:` of the config).
    public struct Settings: Sendable, Equatable {
        /// Address to bind (`127.0.0.1` by default).
        public var host: String
        /// Port; 0 = any free port (see `APIServer.port`).
        public var port: Int
        /// Largest request body accepted; larger ones get 413.
        public var maxBody: Int
        /// Bearer tokens (`http.auth`); empty: no authentication (loopback only, the config enforces it).
        public var tokens: [APIToken]
        /// Plain memberwise initializer.
        public init(host: String, port: Int, maxBody: Int = 32 << 20, tokens: [APIToken] = []) {
            self.host = host; self.port = port; self.maxBody = maxBody; self.tokens = tokens
        }
    }

    /// The port actually bound (differs from the configured one when that was 0).
    public let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, Never>
    private let stopped: DispatchSemaphore

    /// Binds `settings.host:port` and serves until `shutdown()`. Throws when the address cannot be bound.
    public init(settings: Settings, station: any StationAPI, logger: Logger) throws {
        let router = Router(context: BasicRequestContext.self)
        // Middleware first: Hummingbird wraps each route with the middleware present when it is added.
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        if !settings.tokens.isEmpty {
            router.add(middleware: BearerAuthMiddleware(tokens: settings.tokens) { reason in
                station.authenticationFailed(reason: reason)
            })
        }
        Routes(station: station, settings: settings).add(to: router)
        InspectionRoutes(station: station).add(to: router)

        let outcome = Outcome()
        let started = DispatchSemaphore(value: 0), stopped = DispatchSemaphore(value: 0)
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)  // Hummingbird logs every start at info
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port),
                                                    serverName: nil, reuseAddress: true),
            onServerRunning: { channel in
                outcome.set(.success(channel.localAddress?.port ?? settings.port))
                started.signal()
            },
            logger: serverLogger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [],
                                 logger: serverLogger)
        running = Task {
            do { try await group.run() } catch { outcome.set(.failure(error)) }
            started.signal()
            stopped.signal()
        }
        started.wait()
        self.group = group
        self.stopped = stopped
        switch outcome.value {
        case .success(let port)?:
            self.port = port
        case .failure(let error)?:
            throw APIServerError("http.listen: cannot listen on \(settings.host):\(settings.port): \(error)")
        case nil:
            throw APIServerError("http.listen: the server on \(settings.host):\(settings.port) ended before it listened")
        }
    }

    /// Stops listening, lets requests in progress finish (up to 5 s, then cancels them) and returns.
    public func shutdown() {
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
        if stopped.wait(timeout: .now() + 5) == .timedOut {
            running.cancel()
            _ = stopped.wait(timeout: .now() + 5)
        }
    }

    /// The first outcome of starting: the bound port or why binding failed.
    private final class Outcome: Sendable {
        private let state = Mutex<Result<Int, any Error>?>(nil)
        func set(_ result: Result<Int, any Error>) { state.withLock { if $0 == nil { $0 = result } } }
        var value: Result<Int, any Error>? { state.withLock { $0 } }
    }
}

/// The listener could not start.
public struct APIServerError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the config key.
    public var description: String
    init(_ description: String) { self.description = description }
}
