import Dispatch
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
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
        /// `http.tls`: serve HTTPS with this certificate chain and key (PEM files); nil: plain HTTP.
        public var tls: TLSFiles?
        /// Plain memberwise initializer.
        public init(host: String, port: Int, maxBody: Int = 32 << 20, tokens: [APIToken] = [], tls: TLSFiles? = nil) {
            self.host = host; self.port = port; self.maxBody = maxBody; self.tokens = tokens; self.tls = tls
        }
    }

    /// The PEM files of `http.tls`.
    public struct TLSFiles: Sendable, Equatable {
        /// The server certificate, followed by any intermediate certificates.
        public var cert: String
        /// The certificate's private key (unencrypted PEM).
        public var key: String
        /// Plain memberwise initializer.
        public init(cert: String, key: String) { self.cert = cert; self.key = key }

        /// The server TLS configuration, checked: both files parse and the key belongs to the certificate.
        /// Throws a `Problem` naming the key (`cert` or `key`) and what is wrong with its file.
        public func configuration() throws -> TLSConfiguration {
            let chain: [NIOSSLCertificate]
            do { chain = try NIOSSLCertificate.fromPEMFile(cert) } catch {
                throw Problem(key: "cert", message: "\(cert) is not a readable PEM certificate (\(error))")
            }
            guard !chain.isEmpty else { throw Problem(key: "cert", message: "\(cert) holds no PEM certificate") }
            let privateKey: NIOSSLPrivateKey
            do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
                throw Problem(key: "key", message: "\(key) is not a readable unencrypted PEM private key (\(error))")
            }
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
            do { _ = try NIOSSLContext(configuration: configuration) } catch {
                throw Problem(key: "key", message: "\(key) does not belong to the certificate in \(cert) (\(error))")
            }
            return configuration
        }

        /// What is wrong with one of the files.
        public struct Problem: Error, CustomStringConvertible, Sendable {
            /// `cert` or `key`.
            public var key: String
            /// The file and what is wrong with it.
            public var message: String
            public var description: String { "\(key): \(message)" }
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
        LiveRoutes(station: station).add(to: router)
        EventRoutes(station: station).add(to: router)
        SessionRoutes(tokens: settings.tokens).add(to: router)
        TrendsRoutes(station: station).add(to: router)
        ThresholdRoutes(station: station).add(to: router)
        InspectionRoutes(station: station).add(to: router)

        let outcome = Outcome()
        let started = DispatchSemaphore(value: 0), stopped = DispatchSemaphore(value: 0)
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)  // Hummingbird logs every start at info
        let server: HTTPServerBuilder
        do {
            server = try settings.tls.map { try .tls(.http1(), tlsConfiguration: try $0.configuration()) } ?? .http1()
        } catch {
            throw APIServerError("http.tls: \(error)")
        }
        let app = Application(
            router: router,
            server: server,
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
