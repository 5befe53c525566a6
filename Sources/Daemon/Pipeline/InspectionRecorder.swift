import Capture
import Delivery
import Detection
import Engine
import Foundation
import Logging
import Synchronization

/// The end of the frame path: turns each judged frame into an audit record with its outgoing messages
/// (defects, alarms) and hands them to the single audit writer, which commits them in one transaction and
/// then lets the outbox publisher deliver them over MQTT. Also records service events (camera up/down,
/// threshold changes, reloads, errors) and the periodic stats.
final class InspectionRecorder: Sendable {
    /// The audit store (opened once for the process).
    let store: AuditStore
    /// Its single writer.
    let writer: AuditWriter
    private let snapshots: SnapshotStore?
    /// Draws the defects on NG evidence when `snapshots.annotated` is on.
    private let annotator: SnapshotAnnotator?
    private let state: Mutex<Settings>
    private let publisher: Mutex<OutboxPublisher?>
    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let logger: Logger
    private let startedAt = Date()
    /// Called after each inspection is handed to the writer, with its capture time (benchmarks).
    let onRecorded = RecordedFrameObserver()

    /// What can change on reload.
    struct Settings: Sendable {
        var messages: MessageFactory
        var publishOK: Bool
        var mqtt: MQTTConfig
        var modelName: String
        var modelSHA256: String
        var configRevision: String
    }

    /// Opens the audit store (creating its directory) and the snapshot directory; starts the writer and, when
    /// MQTT is enabled, the publisher. `expectedPixels` (the largest camera's width × height) sizes the
    /// annotation scratch.
    init(config: InspectdConfig, model: ModelInfo, expectedPixels: Int, metrics: PipelineMetrics,
         health: PipelineHealth, logger: Logger) throws {
        self.metrics = metrics; self.health = health; self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: (config.audit.path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            store = try AuditStore(path: config.audit.path, synchronous: config.audit.synchronous)
        } catch {
            throw DaemonError("audit.path: cannot open \(config.audit.path): \(error)")
        }
        let retention = RetentionPolicy(maxAge: Double(config.audit.retentionDays) * 86400,
                                        maxBytes: Int64(config.audit.sizeCapMB) << 20)
        if let spill = config.audit.spillPath {
            do {
                try FileManager.default.createDirectory(atPath: (spill as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
            } catch {
                throw DaemonError("audit.spill_path: cannot create the directory of \(spill): \(error)")
            }
        }
        writer = AuditWriter(store: store, settings: .init(maxDelay: config.audit.batchInterval.seconds,
                                                           retention: retention, spillPath: config.audit.spillPath,
                                                           spillMaxBytes: Int64(config.audit.spillCapMB) << 20),
                             logger: logger)
        if config.snapshots.enabled {
            do {
                snapshots = try SnapshotStore(directory: config.snapshots.directory,
                                              maxBytes: Int64(config.snapshots.capMB) << 20)
            } catch {
                throw DaemonError("snapshots.dir: cannot use \(config.snapshots.directory): \(error)")
            }
        } else {
            snapshots = nil
        }
        annotator = config.snapshots.enabled && config.snapshots.annotated
            ? try SnapshotAnnotator(expectedPixels: expectedPixels) : nil
        state = Mutex(Self.settings(config, model))
        publisher = Mutex(nil)
        writer.onFailureChange { [weak self, health, metrics] problem in
            health.storage(problem: problem)
            metrics.auditWritable.record(problem == nil ? 1 : 0)
            self?.storageAlarm(problem)
        }
        metrics.auditWritable.record(1)
        writer.start()
        try startPublisher(config.mqtt)
    }

    private static func settings(_ config: InspectdConfig, _ model: ModelInfo) -> Settings {
        Settings(messages: MessageFactory(line: config.site.line, station: config.site.station,
                                          prefix: config.mqtt.topicPrefix),
                 publishOK: config.mqtt.publishOK, mqtt: config.mqtt,
                 modelName: ((model.path as NSString).lastPathComponent as NSString).deletingPathExtension,
                 modelSHA256: model.sha256, configRevision: config.revision)
    }

    private func startPublisher(_ mqtt: MQTTConfig) throws {
        metrics.mqttConnected.record(0)
        health.mqtt(enabled: mqtt.enabled, connected: false)
        guard let p = try makePublisher(mqtt, messages: state.withLock { $0.messages }) else { return }
        p.start()
        publisher.withLock { $0 = p }
    }

    /// A publisher for `mqtt`, not started (nil when MQTT is off). Throws for settings that cannot work.
    private func makePublisher(_ mqtt: MQTTConfig, messages: MessageFactory) throws -> OutboxPublisher? {
        guard mqtt.enabled else { return nil }
        let settings = MQTTSettings(
            host: mqtt.host, port: mqtt.port, clientID: mqtt.clientID,
            protocolVersion: mqtt.protocolVersion == .v5 ? .v5 : .v311, keepalive: Int(mqtt.keepalive.seconds),
            username: mqtt.username, passwordFile: mqtt.passwordFile,
            tls: mqtt.tls.map { .init(caFile: $0.ca, certFile: $0.cert, keyFile: $0.key, verifyHostName: !$0.insecure) },
            inflightWindow: mqtt.inflight)
        let (metrics, health) = (self.metrics, self.health)
        do {
            return try OutboxPublisher(store: store, writer: writer, settings: settings, messages: messages,
                                       logger: logger,
                                       onStateChange: { s in
                                           let up: Bool = { if case .connected = s { return true }; return false }()
                                           metrics.mqttConnected.record(up ? 1 : 0)
                                           health.mqtt(enabled: true, connected: up)
                                       })
        } catch {
            throw DaemonError("mqtt: \(error)")
        }
    }

    /// A reloaded config's settings, built but not in force (see `prepare` and `commit`).
    struct PendingChange {
        fileprivate var settings: Settings
        /// The broker connection changes: the running publisher is replaced by `publisher` (nil: MQTT off).
        fileprivate var replacesPublisher: Bool
        fileprivate var publisher: OutboxPublisher?
    }

    /// Builds what a reloaded config needs (a new broker client when `mqtt` or the topic prefix changed)
    /// without touching the running settings. Throws for MQTT settings that cannot work.
    func prepare(_ config: InspectdConfig, model: ModelInfo) throws -> PendingChange {
        let new = Self.settings(config, model)
        let old = state.withLock { $0 }
        guard old.mqtt != new.mqtt || old.messages.prefix != new.messages.prefix else {
            return PendingChange(settings: new, replacesPublisher: false, publisher: nil)
        }
        return PendingChange(settings: new, replacesPublisher: true,
                             publisher: try makePublisher(config.mqtt, messages: new.messages))
    }

    /// Puts prepared settings in force: message topics, OK publishing, the new broker connection.
    func commit(_ change: PendingChange) {
        state.withLock { $0 = change.settings }
        guard change.replacesPublisher else { return }
        stopPublisher(timeout: 5)
        metrics.mqttConnected.record(0)
        health.mqtt(enabled: change.settings.mqtt.enabled, connected: false)
        if let p = change.publisher {
            p.start()
            publisher.withLock { $0 = p }
        }
    }

    /// A frame's judgement, with the evidence JPEG when it may be needed.
    func record(_ inspection: Inspection, jpeg: Data?, latencyNanos: UInt64) {
        let s = state.withLock { $0 }
        let camera = inspection.cameraID
        var paths: (String, String?)?
        if inspection.verdict == .ng, let snapshots, let jpeg {
            var annotated: Data?
            if let annotator {
                do { annotated = try annotator.annotate(jpeg: jpeg, defects: inspection.defects) } catch {
                    logger.warning("annotated snapshot not made: \(error)",
                                   metadata: ["camera": "\(camera)", "frame": "\(inspection.sequence)"])
                }
            }
            do {
                paths = try snapshots.save(jpeg: jpeg, annotated: annotated, camera: camera,
                                           sequence: inspection.sequence, captureTime: inspection.captureTime)
            } catch {
                logger.warning("snapshot not saved: \(error)", metadata: ["camera": "\(camera)", "frame": "\(inspection.sequence)"])
            }
        }
        let record = InspectionRecord(
            camera: camera, sequence: inspection.sequence, captureTime: inspection.captureTime,
            isNG: inspection.verdict == .ng, latencyMillis: Double(latencyNanos) / 1e6, modelName: s.modelName,
            modelSHA256: s.modelSHA256, configRevision: s.configRevision,
            defects: inspection.defects.map {
                DefectRecord(classID: $0.classID, className: $0.className, confidence: Double($0.confidence),
                             threshold: Double($0.threshold), x1: Double($0.box.x1), y1: Double($0.box.y1),
                             x2: Double($0.box.x2), y2: Double($0.box.y2))
            },
            snapshotPath: paths?.0, annotatedPath: paths?.1)
        let mqttOn = s.mqtt.enabled
        var messages: [OutgoingMessage] = []
        if mqttOn && (inspection.verdict == .ng || s.publishOK) { messages.append(s.messages.defects(for: record)) }
        writer.submit(record, messages: messages)
        onRecorded.notify(captureNanos: inspection.monotonicNanos)
        for alarm in inspection.alarms {
            logger.warning("alarm \(alarm.ruleID): \(alarm.message)",
                           metadata: ["camera": "\(camera)", "frame": "\(inspection.sequence)"])
            let message = s.messages.alarm(camera: camera, ruleID: alarm.ruleID, kind: alarm.kind,
                                           message: alarm.message, evidence: alarm.evidence)
            writer.submit(event: ServiceEvent(.alarm, camera: camera, detail: Self.json(alarm)),
                          messages: mqttOn ? [message] : [])
        }
        for change in inspection.thresholdChanges {
            metrics.setThreshold(camera: camera, className: change.className, Double(change.to))
            writer.submit(event: ServiceEvent(.thresholdChange, camera: camera, detail: Self.json(change)))
        }
    }

    /// A frame that could not be judged (not aligned to its reference, undecodable, engine failure): recorded
    /// with verdict `ERROR` and the reason, and always published on the defects topic, because a part that was
    /// not inspected must not pass as OK by silence.
    func recordError(camera: String, sequence: UInt64, captureTime: Date, captureNanos: UInt64, reason: String,
                     latencyNanos: UInt64) {
        let s = state.withLock { $0 }
        let record = InspectionRecord(camera: camera, sequence: sequence, captureTime: captureTime, isNG: false,
                                      latencyMillis: Double(latencyNanos) / 1e6, modelName: s.modelName,
                                      modelSHA256: s.modelSHA256, configRevision: s.configRevision, defects: [],
                                      error: reason)
        writer.submit(record, messages: s.mqtt.enabled ? [s.messages.defects(for: record)] : [])
        onRecorded.notify(captureNanos: captureNanos)
    }

    /// A camera came up or went down: a service event and the retained camera status message.
    func cameraStatus(_ camera: String, up: Bool, reason: String) {
        let s = state.withLock { $0 }
        let message = s.messages.cameraStatus(camera: camera, up: up, reason: reason)
        writer.submit(event: ServiceEvent(up ? .cameraUp : .cameraDown, camera: camera, detail: reason),
                      messages: s.mqtt.enabled ? [message] : [])
    }

    /// The `storage` alarm on `{prefix}/alarms` (camera `*`: the station) when the audit database stops
    /// taking writes, and `storage_recovered` when it takes them again. While it fails, the message is
    /// published from memory (the outbox is in that database) and enters the outbox on write-back.
    private func storageAlarm(_ problem: String?) {
        let s = state.withLock { $0 }
        let text = problem.map { "audit database not writable, records held in the spill: \($0)" }
            ?? "audit database writable again; held records are written back"
        let kind = problem == nil ? "storage_recovered" : "storage"
        let message = s.messages.alarm(camera: "*", ruleID: "storage", kind: kind, message: text, evidence: [])
        writer.submit(event: ServiceEvent(.alarm, detail: Self.json(["kind": kind, "message": text])),
                      messages: s.mqtt.enabled ? [message] : [])
    }

    /// A lifecycle event (start, stop, reload, error).
    func event(_ kind: ServiceEvent.Kind, _ detail: String) {
        writer.submit(event: ServiceEvent(kind, detail: detail))
    }

    /// Periodic stats to `{prefix}/stats`; refreshes the outbox gauge. Returns the outbox backlog.
    @discardableResult
    func stats(interval: Duration, cameras: [StatsPayload.Camera]) -> Int {
        let backlog = (try? store.pendingCount()) ?? 0
        metrics.outboxDepth.record(backlog)
        let s = state.withLock { $0 }
        if s.mqtt.enabled {
            writer.submit(messages: [s.messages.stats(intervalSeconds: interval.seconds,
                                                      uptimeSeconds: Date().timeIntervalSince(startedAt),
                                                      cameras: cameras, outboxBacklog: backlog)])
        }
        return backlog
    }

    /// Saves a camera's adaptive threshold state.
    func saveAdaptiveState(camera: String, _ state: ThresholdState) {
        if let data = try? JSONEncoder().encode(state) { writer.saveAdaptiveState(camera: camera, state: data) }
    }

    /// The saved adaptive state of a camera, if any.
    func loadAdaptiveState(camera: String) -> ThresholdState? {
        guard let data = try? store.loadAdaptiveState(camera: camera) else { return nil }
        return try? JSONDecoder().decode(ThresholdState.self, from: data)
    }

    private func stopPublisher(timeout: TimeInterval) {
        if let p = publisher.withLock({ p -> OutboxPublisher? in let old = p; p = nil; return old }) {
            p.stop(timeout: timeout)
        }
    }

    /// Commits everything, gives the publisher a moment to deliver what is in flight, publishes `offline`,
    /// disconnects and stops the writer. Undelivered messages stay in the outbox for the next start. Returns
    /// the records never written to the audit database (it failed; each count is logged by the writer).
    @discardableResult
    func stop(deadline: Date) -> Int {
        writer.flush(timeout: max(0.1, deadline.timeIntervalSinceNow))
        if let p = publisher.withLock({ $0 }) {
            let graceEnd = min(deadline.addingTimeInterval(-1), Date().addingTimeInterval(2))
            while Date() < graceEnd, p.status.connected, (p.status.inFlight > 0 || ((try? store.pendingCount()) ?? 0) > 0) {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        stopPublisher(timeout: max(0.5, min(5, deadline.timeIntervalSinceNow)))
        return writer.stop(timeout: max(0.5, deadline.timeIntervalSinceNow))
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
