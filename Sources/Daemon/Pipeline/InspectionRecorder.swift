import Capture
import Delivery
import Detection
import Engine
import Foundation
import Logging
import Synchronization

/// The end of the frame path: hands each judged frame's audit record and outgoing messages to the single audit
/// writer, which commits them in one transaction and then lets the outbox publisher deliver them over MQTT.
/// Also records service events (camera up/down, reloads, errors) and the periodic stats, and owns the MQTT
/// publisher across reloads. The parts that decide are their own types, each testable alone:
/// `InspectionRecordMaker` (record and messages of a judged or failed frame), `LineRuleEvents` (alarms and
/// threshold changes as events and messages) and `EvidenceSnapshots` (NG evidence on disk).
final class InspectionRecorder: Sendable {
    /// The audit store (opened once for the process).
    let store: AuditStore
    /// Its single writer.
    let writer: AuditWriter
    /// NG evidence; nil with snapshots off.
    private let snapshots: EvidenceSnapshots?
    private let state: Mutex<Settings>
    private let publisher: Mutex<OutboxPublisher?>
    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let logger: Logger
    private let startedAt = Date()
    /// Called after each inspection is handed to the writer, with its capture time (benchmarks).
    let onRecorded = RecordedFrameObserver()
    /// Where MQTT triggers (`{prefix}/{camera}/trigger`) go: set by the pipeline once it is built.
    let inbox = MQTTInbox()

    /// What can change on reload.
    struct Settings: Sendable {
        var maker: InspectionRecordMaker
        var mqtt: MQTTConfig
        /// `{prefix}/{camera}/trigger` of every camera in `trigger.mode: software`.
        var triggerTopics: [String]
        var messages: MessageFactory { maker.messages }
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
            let store: SnapshotStore
            do {
                store = try SnapshotStore(directory: config.snapshots.directory,
                                          maxBytes: Int64(config.snapshots.capMB) << 20)
            } catch {
                throw DaemonError("snapshots.dir: cannot use \(config.snapshots.directory): \(error)")
            }
            snapshots = EvidenceSnapshots(store: store, annotator: config.snapshots.annotated
                                            ? try SnapshotAnnotator(expectedPixels: expectedPixels) : nil,
                                          logger: logger)
        } else {
            snapshots = nil
        }
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
        Settings(maker: InspectionRecordMaker(
                    messages: MessageFactory(line: config.site.line, station: config.site.station,
                                             prefix: config.mqtt.topicPrefix),
                    publishOK: config.mqtt.publishOK, mqttEnabled: config.mqtt.enabled,
                    modelName: ((model.path as NSString).lastPathComponent as NSString).deletingPathExtension,
                    modelSHA256: model.sha256, configRevision: config.revision),
                 mqtt: config.mqtt,
                 triggerTopics: config.cameras.filter(\.trigger.isTriggered).map {
                     MessageFactory(line: config.site.line, station: config.site.station, prefix: config.mqtt.topicPrefix)
                         .prefix + "/\($0.id)/trigger"
                 })
    }

    private func startPublisher(_ mqtt: MQTTConfig) throws {
        metrics.mqttConnected.record(0)
        health.mqtt(enabled: mqtt.enabled, connected: false)
        let s = state.withLock { $0 }
        guard let p = try makePublisher(mqtt, messages: s.messages, subscriptions: s.triggerTopics) else { return }
        p.start()
        publisher.withLock { $0 = p }
    }

    /// A publisher for `mqtt`, not started (nil when MQTT is off). Throws for settings that cannot work.
    private func makePublisher(_ mqtt: MQTTConfig, messages: MessageFactory, subscriptions: [String]) throws -> OutboxPublisher? {
        guard mqtt.enabled else { return nil }
        var settings = MQTTSettings(
            host: mqtt.host, port: mqtt.port, clientID: mqtt.clientID,
            protocolVersion: mqtt.protocolVersion == .v5 ? .v5 : .v311, keepalive: Int(mqtt.keepalive.seconds),
            username: mqtt.username, passwordFile: mqtt.passwordFile,
            tls: mqtt.tls.map { .init(caFile: $0.ca, certFile: $0.cert, keyFile: $0.key, verifyHostName: !$0.insecure) },
            inflightWindow: mqtt.inflight)
        settings.subscriptions = subscriptions
        let (metrics, health, inbox) = (self.metrics, self.health, self.inbox)
        do {
            return try OutboxPublisher(store: store, writer: writer, settings: settings, messages: messages,
                                       logger: logger,
                                       onStateChange: { s in
                                           let up: Bool = { if case .connected = s { return true }; return false }()
                                           metrics.mqttConnected.record(up ? 1 : 0)
                                           health.mqtt(enabled: true, connected: up)
                                       },
                                       onMessage: { m in inbox.deliver(m) })
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
        guard old.mqtt != new.mqtt || old.messages.prefix != new.messages.prefix || old.triggerTopics != new.triggerTopics else {
            return PendingChange(settings: new, replacesPublisher: false, publisher: nil)
        }
        return PendingChange(settings: new, replacesPublisher: true,
                             publisher: try makePublisher(config.mqtt, messages: new.messages, subscriptions: new.triggerTopics))
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
    func record(_ inspection: Inspection, jpeg: Data?, latencyNanos: UInt64, part: PartFields? = nil) {
        let s = state.withLock { $0 }
        let camera = inspection.cameraID
        let judged = s.maker.judged(inspection, latencyNanos: latencyNanos,
                                    snapshot: snapshots?.save(inspection, jpeg: jpeg), part: part)
        writer.submit(judged.record, messages: judged.messages, urgent: part != nil)
        onRecorded.notify(captureNanos: inspection.monotonicNanos)
        for alarm in inspection.alarms {
            logger.warning("alarm \(alarm.ruleID): \(alarm.message)",
                           metadata: ["camera": "\(camera)", "frame": "\(inspection.sequence)"])
        }
        for change in inspection.thresholdChanges {
            metrics.setThreshold(camera: camera, className: change.className, Double(change.to))
        }
        for e in LineRuleEvents.events(for: inspection, messages: s.messages, mqttEnabled: s.mqtt.enabled) {
            writer.submit(event: e.event, messages: e.messages)
        }
    }

    /// A frame that could not be judged (not aligned to its reference, undecodable, engine failure): recorded
    /// with verdict `ERROR` and the reason, and always published on the defects topic, because a part that was
    /// not inspected must not pass as OK by silence.
    func recordError(camera: String, sequence: UInt64, captureTime: Date, captureNanos: UInt64, reason: String,
                     latencyNanos: UInt64, part: PartFields? = nil) {
        let failed = state.withLock { $0 }.maker.failed(camera: camera, sequence: sequence, captureTime: captureTime,
                                                         reason: reason, latencyNanos: latencyNanos, part: part)
        writer.submit(failed.record, messages: failed.messages, urgent: part != nil)
        onRecorded.notify(captureNanos: captureNanos)
    }

    /// An MQTT trigger refused before any inspection (not a trigger document, camera not triggered): its error
    /// answer on the result topic (and the trigger's response topic), through the outbox.
    func refusedTrigger(camera: String, partID: String?, reason: String, replyTopic: String?, correlationData: Data?) {
        let s = state.withLock { $0 }
        guard s.mqtt.enabled else { return }
        writer.submit(messages: s.messages.refusedTrigger(camera: camera, partID: partID, reason: reason,
                                                          replyTopic: replyTopic, correlationData: correlationData))
    }

    /// The topic prefix in force (`{prefix}/{camera}/trigger` is read with it).
    var topicPrefix: String { state.withLock { $0.messages.prefix } }

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
        writer.submit(event: ServiceEvent(.alarm, detail: LineRuleEvents.json(["kind": kind, "message": text])),
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
}

/// Where messages on subscribed topics (MQTT triggers) go: the pipeline, once it is built (the broker client is
/// started before it is).
final class MQTTInbox: Sendable {
    private let target = Mutex<(@Sendable (MQTTInboundMessage) -> Void)?>(nil)

    /// Sends every later message to `handler`.
    func connect(_ handler: @escaping @Sendable (MQTTInboundMessage) -> Void) { target.withLock { $0 = handler } }

    /// Hands `message` on (dropped before `connect`: a trigger that early has no pipeline to go to).
    func deliver(_ message: MQTTInboundMessage) { target.withLock { $0 }?(message) }
}
