import API
import Foundation
import Logging

/// The daemon as a long-running service: reads the config, builds and starts the pipeline, serves the HTTP API
/// (with metrics and health), tells systemd (READY, STATUS, WATCHDOG, RELOADING, STOPPING), reloads on SIGHUP and drains on
/// SIGTERM/SIGINT.
public final class InspectionService: @unchecked Sendable {
    // @unchecked: `pipeline`, `config`, `server` and `statsTimer` change only under `lifecycle`; `facade` is set once
    // in `run`, before signals can call `reload`.
    private let configPath: String
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let lifecycle = NSLock()
    private let stopRequested = DispatchSemaphore(value: 0)
    private var config: InspectdConfig?
    private var pipeline: Pipeline?
    private var server: APIServer?
    /// What the HTTP API sees of the station.
    private var facade: StationFacade?
    private var statsTimer: DispatchSourceTimer?
    /// The PLC's Modbus server (`plc.modbus`), when configured.
    private var plc: PLCLink?
    /// The metrics registry (one per service).
    public let metrics = PipelineMetrics()
    /// Health as `/healthz` reports it.
    public private(set) var health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30))

    /// A service for the config at `configPath`; systemd variables are read from `environment`.
    public init(configPath: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                logger: Logger) {
        self.configPath = configPath
        notifier = SystemdNotifier(environment: environment)
        self.logger = logger
    }

    /// The port the HTTP listener (API, metrics, health) is on (after `run` started it), for tests using port 0.
    public var metricsPort: Int? { lifecycle.withLock { server?.port } }

    /// The port the PLC's Modbus server is on (after `run` started it), for tests using port 0.
    public var modbusPort: Int? { lifecycle.withLock { plc?.server.port } }

    /// Runs until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean drain, 2 for a config
    /// problem (printed one per line to `errors`), 1 for other start failures or an unclean stop (frames lost
    /// to the timeout, or records the audit database could not take, each counted in the log).
    public func run(errors: (String) -> Void) -> Int32 {
        let config: InspectdConfig
        do { config = try InspectdConfig.load(path: configPath) } catch let e as ConfigError {
            e.lines.forEach(errors); return 2
        } catch { errors("\(error)"); return 2 }
        health = PipelineHealth(cameraDownLimit: config.metrics.cameraDownLimit, stallLimit: config.metrics.stallLimit)
        notifier.status("loading model \(config.model.path)")
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(config: config, metrics: metrics, health: health, logger: logger)
        } catch let e as ConfigError {
            e.lines.forEach(errors); return 2
        } catch {
            errors("\(error)"); return 1
        }
        for warning in config.warnings { logger.warning("\(config.file): \(warning)") }
        let facade = StationFacade(metrics: metrics, health: health)
        facade.update(config: config, model: pipeline.model)
        facade.attach(pipeline)
        self.facade = facade
        if config.http.enabled {
            do {
                server = try startServer(config.http, facade: facade)
            } catch {
                errors("\(error)"); pipeline.stop(timeout: .seconds(2)); return 1
            }
        }
        if let settings = PLCLink.settings(config) {
            do {
                plc = try PLCLink(settings: settings, pipeline: { [weak self] in self?.currentPipeline }, logger: logger)
            } catch {
                errors("\(error)"); server?.shutdown(); pipeline.stop(timeout: .seconds(2)); return 1
            }
        }
        let signals = SignalWatcher { [self] request in
            switch request {
            case .stop(let sig):
                logger.notice("signal \(sig): stopping")
                stopRequested.signal()
            case .reload:
                reload()
            }
        }
        lifecycle.withLock {
            self.config = config; self.pipeline = pipeline
            pipeline.start()
            scheduleStats(config.statsInterval)
        }
        let health = self.health
        let watchdog = Watchdog(notifier: notifier) { health.isMakingProgress() }
        let trimmer = HeapTrimmer()
        defer { trimmer.stop() }
        // The start event is the first write: a database that cannot take it (full disk, read-only) makes the
        // station start degraded, and says so, rather than ready and fine.
        pipeline.flushAudit(timeout: 2)
        if let problem = pipeline.storageProblem {
            logger.error("ready, degraded: audit database not writable, records held in memory: \(problem)")
            notifier.ready(status: "degraded: audit database not writable: \(problem); " + pipeline.summary)
        } else {
            logger.info("ready: \(pipeline.summary)")
            notifier.ready(status: pipeline.summary)
        }

        stopRequested.wait()
        notifier.stopping()
        let clean: Bool = lifecycle.withLock {
            statsTimer?.cancel()
            let clean = pipeline.stop(timeout: config.shutdownTimeout)
            plc?.stop()
            server?.shutdown()
            facade.stop()
            self.pipeline = nil
            return clean
        }
        watchdog?.cancel()
        signals.cancel()
        let unwritten = pipeline.unwrittenAtStop
        if unwritten > 0 {
            logger.error("stopped with \(unwritten) records not written to the audit database (it could not be written)")
        }
        if !clean { logger.notice("stopped with frames lost to the shutdown timeout") }
        if clean && unwritten == 0 { logger.notice("stopped cleanly") }
        return clean && unwritten == 0 ? 0 : 1
    }

    /// Asks a running service to stop (as SIGTERM does).
    public func requestStop() { stopRequested.signal() }

    /// SIGHUP: read the config again; apply it if valid, else keep the running one and record why.
    public func reload() {
        lifecycle.withLock {
            guard let pipeline, let current = config else { return }
            notifier.reloading()
            logger.notice("reloading \(configPath)")
            do {
                let new = try InspectdConfig.load(path: configPath)
                try pipeline.apply(new)
                for warning in new.warnings { logger.warning("\(new.file): \(warning)") }
                facade?.update(config: new, model: pipeline.model)
                // With TLS, also on an unchanged config: renewed certificate files are picked up by a SIGHUP.
                if new.http != current.http || new.http.tls != nil { restartServer(new.http) }
                if new.statsInterval != current.statsInterval { scheduleStats(new.statsInterval) }
                restartPLC(new)
                if new.logLevel != current.logLevel { logger.notice("log_level changes on restart") }
                config = new
                logger.notice("config reloaded (revision \(new.revision.prefix(12)))")
            } catch {
                let lines = (error as? ConfigError)?.lines ?? ["\(error)"]
                for line in lines { logger.error("reload rejected, keeping the running config: \(line)") }
                pipeline.reloadFailed(lines)
            }
            notifier.ready(status: pipeline.summary)
        }
    }

    /// The pipeline in force (the PLC's triggers go to it).
    private var currentPipeline: Pipeline? { lifecycle.withLock { pipeline } }

    /// Applies reloaded `plc` settings: a new Modbus server when its address, unit id or triggered cameras changed
    /// (the PLC reconnects), none when `plc.modbus` was removed. A server that cannot start is logged; the rest of
    /// the reload stands.
    private func restartPLC(_ new: InspectdConfig) {
        let wanted = PLCLink.settings(new)
        guard wanted != plc?.settings else { return }
        plc?.stop()
        plc = nil
        guard let wanted else { return }
        do {
            plc = try PLCLink(settings: wanted, pipeline: { [weak self] in self?.currentPipeline }, logger: logger)
        } catch {
            logger.error("reload: the PLC's Modbus server did not start: \(error)")
        }
    }

    /// Applies reloaded `http` settings: a new listener when they changed or it was turned on, none when turned
    /// off.
    private func restartServer(_ h: HTTPConfig) {
        if server == nil && !h.enabled { return }
        server?.shutdown()
        server = nil
        guard h.enabled, let facade else { return }
        do {
            server = try startServer(h, facade: facade)
        } catch {
            logger.error("\(error)")
        }
    }

    /// Starts the HTTP listener and logs where (the port too when 0 was asked for).
    private func startServer(_ h: HTTPConfig, facade: StationFacade) throws -> APIServer {
        let server = try APIServer(settings: APIServer.Settings(host: h.listen.host, port: h.listen.port,
                                                                maxBody: h.maxBody, tokens: h.tokens, tls: h.tls),
                                   station: facade, logger: logger)
        let base = "\(h.tls == nil ? "http" : "https")://\(ListenAddress(host: h.listen.host, port: server.port))"
        logger.info("metrics on \(base)/metrics and /healthz, API on \(base)/api/v1")
        return server
    }

    private func scheduleStats(_ interval: Duration) {
        statsTimer?.cancel()
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "inspectd.stats"))
        let ms = Int(interval.seconds * 1000)
        timer.schedule(deadline: .now() + .milliseconds(ms), repeating: .milliseconds(ms))
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            lifecycle.withLock {
                if let line = pipeline?.publishStats(interval: interval) { notifier.status(line) }
            }
        }
        timer.resume()
        statsTimer = timer
    }
}
