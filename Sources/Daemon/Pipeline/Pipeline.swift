import API
import Capture
import Delivery
import Detection
import Engine
import Foundation
import Logging
import Synchronization
import Triggers

/// The frame path, wired: one capture thread per camera → a bounded queue per camera → a fixed pool of
/// inference workers → per camera, the in-order judge → the single audit writer (then MQTT).
///
/// `@unchecked Sendable`: the mutable parts (`lanes`, `workers`, `model`, `config`) change only in `start`,
/// `apply` and `stop`, which the service serializes; workers read `lanes` through `lanesByID` (a Mutex).
public final class Pipeline: @unchecked Sendable {
    /// The model in use and when its file was read (to reload it only when it changed).
    private struct LoadedModel {
        var model: Model
        var path: String
        var inputSize: [Int]?
        var fileStamp: String
    }

    private var config: InspectdConfig
    private var loaded: LoadedModel
    private let queues = FrameQueues()
    private let lanesByID = Mutex<[String: CameraLane]>([:])
    /// Each camera's latest frame (HTTP API).
    let live: LiveFrames

    /// Camera `id`'s lane (tests look at its source).
    func lane(_ id: String) -> CameraLane? { lanesByID.withLock { $0[id] } }
    private var workers: [InferenceWorker] = []
    private let recorder: InspectionRecorder
    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let logger: Logger
    /// Replaces libv4l2 for every V4L2 camera (tests: a `SimulatedV4L2Device`); nil in the daemon.
    private let v4l2Device: (any V4L2Device)?

    /// Loads the model, checks the config's class names against it, opens the audit store and the broker
    /// connection, makes the sources and allocates every worker's memory. Nothing runs until `start`.
    /// Throws `ConfigError` for config problems found with the model, `DaemonError` otherwise.
    public convenience init(config: InspectdConfig, metrics: PipelineMetrics, health: PipelineHealth, logger: Logger) throws {
        try self.init(config: config, metrics: metrics, health: health, logger: logger, v4l2Device: nil)
    }

    /// As the public initializer, with V4L2 cameras on `v4l2Device` instead of libv4l2 (tests).
    init(config: InspectdConfig, metrics: PipelineMetrics, health: PipelineHealth, logger: Logger,
         v4l2Device: (any V4L2Device)?) throws {
        self.config = config; self.metrics = metrics; self.health = health; self.logger = logger
        self.v4l2Device = v4l2Device
        live = LiveFrames(workers: config.workers.count)
        queues.setRequestCapacity(config.http.detectQueue)
        loaded = try Self.loadModel(config, logger: logger)
        recorder = try InspectionRecorder(config: config, model: loaded.model.info,
                                          expectedPixels: Self.largestFramePixels(config), metrics: metrics,
                                          health: health, logger: logger)
        do {
            try buildLanes(config)
            // Each worker is given the first camera's detector as its default; frames use their own camera's.
            // No camera (a pure inspection server): the `detection` section's detector.
            guard let anyDetector = try config.cameras.first.flatMap({ id in lanesByID.withLock { $0[id.id]?.detector } })
                    ?? (config.cameras.isEmpty ? Self.sectionDetector(config, loaded.model) : nil) else {
                throw DaemonError("cameras: no camera could be set up")
            }
            workers = try makeWorkers(config, model: loaded.model, detector: anyDetector)
        } catch {
            recorder.stop(deadline: Date().addingTimeInterval(2))
            throw error
        }
        health.setCameras(config.cameras.map(\.id))
        recorder.inbox.connect { [weak self] in self?.mqttTrigger($0) }
    }

    /// The model's structure and identity.
    public var modelInfo: ModelInfo { loaded.model.info }

    /// The model in use (the HTTP API inspects images with it).
    public var model: Model { loaded.model }

    /// Starts the workers, then the cameras.
    public func start() {
        recorder.event(.start, "config \(config.revision.prefix(12)), model \(loaded.model.info.sha256.prefix(12))")
        for w in workers { w.start() }
        for lane in lanesByID.withLock({ Array($0.values) }) { lane.start() }
    }

    /// A one-line description for STATUS= and the log.
    public var summary: String {
        "inspecting \(config.cameras.count) camera\(config.cameras.count == 1 ? "" : "s") with "
            + "\((loaded.path as NSString).lastPathComponent) on \(workers.count) worker\(workers.count == 1 ? "" : "s")"
    }

    // MARK: reload

    /// Applies a new config while frames keep flowing: thresholds, ROI, line rules and MQTT at once; cameras
    /// added, removed or changed; the model and the worker pool rebuilt only when the model file, its input size
    /// or the pool settings changed.
    ///
    /// A transaction: everything the new config needs (model, rules, the new workers with one warm-up
    /// inference, the new cameras' lanes, the broker client) is built beside the running pipeline first; only
    /// then is it swapped in, in a step that cannot fail. When anything cannot be built this throws and the
    /// running pipeline is untouched.
    public func apply(_ new: InspectdConfig) throws {
        let modelChanged = new.model.path != loaded.path || new.model.inputSize != loaded.inputSize
            || Self.fileStamp(new.model.path) != loaded.fileStamp
        let candidate = modelChanged ? try Self.loadModel(new, logger: logger) : loaded
        let rules = try ConfigCheck.detectionRules(new, model: candidate.model)
        guard let defaultDetector = try new.cameras.first.flatMap({ rules[$0.id]?.detector })
                ?? (new.cameras.isEmpty ? Self.sectionDetector(new, candidate.model) : nil) else {
            throw DaemonError("cameras: the new config has no camera")
        }
        if new.audit != config.audit || new.snapshots != config.snapshots {
            logger.warning("audit and snapshots settings change only on restart; keeping the running ones")
        }

        // Build: nothing below runs or is attached to the queues until the commit.
        let old = lanesByID.withLock { $0 }
        let rebuildPool = modelChanged || new.workers != config.workers
        var newWorkers: [InferenceWorker] = []
        if rebuildPool {
            newWorkers = try makeWorkers(new, model: candidate.model, detector: defaultDetector)
            try newWorkers.first?.warmUp()
        }
        var newLanes: [(lane: CameraLane, replaces: CameraLane?)] = []
        for camera in new.cameras {
            let existing = old[camera.id]
            // a new source or golden image means a new lane (the reference is read when a lane is made)
            // and so does a new trigger mode (the capture loop is made for one)
            guard existing == nil || existing?.config.source != camera.source
                    || existing?.config.reference != camera.reference || existing?.config.trigger != camera.trigger,
                  let r = rules[camera.id] else { continue }
            newLanes.append((try makeLane(camera, rules: r, workers: new.workers.count), existing))
        }
        let recorderChange = try recorder.prepare(new, model: candidate.model.info)

        // Commit: cannot fail from here on.
        let newIDs = Set(new.cameras.map(\.id))
        for (id, lane) in old where !newIDs.contains(id) {
            removeLane(lane)
            logger.info("camera removed", metadata: ["camera": "\(id)"])
        }
        for (_, replaced) in newLanes { if let replaced { removeLane(replaced) } }
        if rebuildPool {
            for w in workers { w.stop() }
            loaded = candidate
            workers = newWorkers
            for w in workers { w.start() }
            logger.info("worker pool rebuilt: \(workers.count) workers, model \((loaded.path as NSString).lastPathComponent)")
        }
        for (lane, replaced) in newLanes {
            attachAndStart(lane)
            logger.info(replaced == nil ? "camera added" : "camera source changed, restarted",
                        metadata: ["camera": "\(lane.config.id)"])
        }
        for camera in new.cameras {
            guard let lane = old[camera.id], lane.config.source == camera.source, lane.config.reference == camera.reference,
                  lane.config.trigger == camera.trigger, let r = rules[camera.id] else { continue }
            if lane.config.queueSize != camera.queueSize || lane.config.overload != camera.overload {
                for _ in queues.setCamera(camera.id, capacity: camera.queueSize, policy: camera.overload) {
                    health.frameDropped()
                }
            }
            lane.setRules(r)
        }
        recorder.commit(recorderChange)
        queues.setRequestCapacity(new.http.detectQueue)
        health.setCameras(new.cameras.map(\.id))
        health.setLimits(cameraDown: new.metrics.cameraDownLimit, stall: new.metrics.stallLimit)
        config = new
        recorder.event(.configReload, "config \(new.revision.prefix(12))")
    }

    /// Records a rejected reload (the running config stays).
    public func reloadFailed(_ problems: [String]) {
        metrics.reloadFailures.increment()
        recorder.event(.error, "config reload rejected: " + problems.joined(separator: "; "))
    }

    // MARK: images sent over the HTTP API

    /// Queues an image sent to `POST /api/v1/detect` for the worker pool; false when `http.detect_queue` images
    /// already wait or the pipeline is stopping.
    func submit(_ request: DetectRequest) -> Bool { queues.submit(request) }

    /// Judges an image sent to `POST /api/v1/detect?record=true` (its `candidates` found by a worker
    /// with this camera's detector) as the next frame of camera `camera`: in turn with the camera's frames, so
    /// adaptive thresholds and line rules see it, and recorded and published by the camera's own path (audit row,
    /// outbox, MQTT, snapshot from `jpeg`). Its sequence is 0: it is no frame of the camera's source.
    /// `reply` gets the inspection once it was handed to the audit writer. False when the camera has no running
    /// lane (removed by a reload, or the pipeline stopping).
    func recordAPIImage(camera: String, candidates: [Candidate], jpeg: Data?, captureTime: Date, receivedNanos: UInt64,
                        reply: @escaping @Sendable (Inspection) -> Void) -> Bool {
        guard let lane = lane(camera), let ticket = queues.ticket(for: camera, generation: lane.queueGeneration) else {
            return false
        }
        health.frameAccepted()
        let stamp = FrameStamp(sequence: 0, captureTime: captureTime, monotonicNanos: receivedNanos)
        lane.complete(ticket: ticket, .judged(.init(candidates: candidates, stamp: stamp, jpeg: jpeg,
                                                    postprocessStart: PipelineHealth.monotonicNanos(), reply: reply)))
        return true
    }

    /// Hands a trigger to camera `camera` (`trigger.mode: software`); `then` gets its result once, on any thread.
    /// False when the camera has no running lane or runs free (nothing is recorded then: the caller answers).
    func trigger(camera: String, part: PartFields, then: @escaping @Sendable (TriggerResult) -> Void) -> Bool {
        guard let lane = lane(camera), lane.triggers != nil else { return false }
        lane.trigger(part, then: then)
        return true
    }

    /// A message on `{prefix}/{camera}/trigger`: a trigger document, as over HTTP. Its result is published by the
    /// camera's recording path; a message that is no trigger, or for a camera that takes none, is answered with
    /// an error on the result topic and counted (`inspectd_triggers_total{source="mqtt",outcome="bad_trigger"}`),
    /// and the subscription goes on.
    private func mqttTrigger(_ m: MQTTInboundMessage) {
        let prefix = recorder.topicPrefix + "/"
        guard m.topic.hasPrefix(prefix), m.topic.hasSuffix("/trigger") else { return }
        let camera = String(m.topic.dropFirst(prefix.count).dropLast("/trigger".count))
        func refuse(_ outcome: String, _ reason: String, partID: String? = nil) {
            logger.warning("MQTT trigger refused: \(reason)", metadata: ["camera": "\(camera)"])
            metrics.countTrigger(camera: camera, source: "mqtt", outcome: outcome)
            recorder.refusedTrigger(camera: camera, partID: partID, reason: "\(outcome): \(reason)",
                                    replyTopic: m.responseTopic, correlationData: m.correlationData)
        }
        let request: TriggerRequest
        do { request = try TriggerRequest.parse(m.payload) } catch {
            return refuse("bad_trigger", "\(error)")
        }
        var part = PartFields(request, source: "mqtt")
        part.replyTopic = m.responseTopic; part.correlationData = m.correlationData
        if !trigger(camera: camera, part: part, then: { _ in }) {
            refuse("not_triggered", "camera '\(camera)' is not running in trigger.mode software", partID: request.partID)
        }
    }

    /// The audit id of a recorded `inspection`, once the writer committed it (waits up to `timeout`); nil when it
    /// was not committed by then.
    func auditID(of inspection: Inspection, timeout: TimeInterval) -> Int64? {
        guard recorder.writer.flush(timeout: timeout) else { return nil }
        return try? recorder.store.inspectionID(camera: inspection.cameraID, sequence: inspection.sequence,
                                                captureTime: inspection.captureTime)
    }

    // MARK: benchmarks

    /// Calls `observer` with each recorded frame's capture time (monotonic ns), after it was handed to the
    /// audit writer; `flushAudit` then tells when it is committed.
    public func onRecorded(_ observer: @escaping @Sendable (UInt64) -> Void) {
        recorder.onRecorded.set(observer)
    }

    /// Blocks until everything recorded so far is committed to the audit database.
    @discardableResult
    public func flushAudit(timeout: TimeInterval = 30) -> Bool { recorder.writer.flush(timeout: timeout) }

    // MARK: stats

    /// Publishes the interval's stats (MQTT `{prefix}/stats`), logs one line per camera and returns a one-line
    /// summary for systemd's STATUS=.
    @discardableResult
    public func publishStats(interval: Duration) -> String {
        let report = health.report()
        var frames = 0, ng = 0, dropped = 0
        let cameras = lanesByID.withLock { $0 }.sorted { $0.key < $1.key }.map { id, lane -> StatsPayload.Camera in
            let s = lane.stats.take()
            frames += s.frames; ng += s.ng; dropped += s.dropped
            let state = report.cameras[id]?.state == .down ? "down" : "up"
            let line = String(format: "stats: %d frames, %d NG, %d dropped, latency mean %.1f ms p99 %.1f ms",
                              s.frames, s.ng, s.dropped, s.latencyMean, s.latencyP99)
            let truth = lane.groundTruth.withLock { $0 }.map { "; synthetic ground truth so far: " + $0.summary } ?? ""
            logger.info("\(line)\(truth)", metadata: ["camera": "\(id)"])
            return StatsPayload.Camera(camera: id, state: state, frames: s.frames, ngFrames: s.ng, droppedFrames: s.dropped,
                                       fps: Double(s.frames) / max(interval.seconds, 0.001), latencyMsMean: s.latencyMean,
                                       latencyMsP99: s.latencyP99)
        }
        let backlog = recorder.stats(interval: interval, cameras: cameras)
        let down = report.cameras.filter { $0.value.state == .down }.map(\.key).sorted()
        return String(format: "%.1f frames/s, %d NG, %d dropped, outbox %d", Double(frames) / max(interval.seconds, 0.001),
                      ng, dropped, backlog)
            + (report.mqttConnected == false ? ", MQTT disconnected" : "")
            + (down.isEmpty ? "" : ", down: " + down.joined(separator: " "))
    }

    // MARK: stop

    /// Stops capture, finishes the frames workers have started (frames still queued are not inspected),
    /// saves adaptive state, commits the database, publishes
    /// `offline` and disconnects, all within `timeout`. Returns false when frames were still in flight at the
    /// deadline (they were not recorded).
    @discardableResult
    public func stop(timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(timeout.seconds)
        let lanes = lanesByID.withLock { $0 }
        for lane in lanes.values { lane.stopCapture() }
        let waiting = queues.closeAndTakeWaiting()
        for f in waiting {
            health.frameDropped()
            metrics.camera(f.cameraID).dropped.increment()
        }
        if !waiting.isEmpty { logger.notice("shutdown: \(waiting.count) queued frames not inspected") }
        for request in queues.takeRequests() {
            request.finish(.failure(APIError(.serviceUnavailable, "stopping", "the daemon is stopping")))
        }
        let drainBy = deadline.addingTimeInterval(-1)
        let inTime = workers.allSatisfy { $0.join(until: drainBy) }
        if !inTime { logger.error("shutdown timeout: \(health.framesInFlight) frames still in flight were not recorded") }
        if inTime { for (id, lane) in lanes { recorder.saveAdaptiveState(camera: id, lane.thresholdState) } }
        // Triggers whose frame was not judged (still waiting, or their frame left in a queue): error results.
        for lane in lanes.values { lane.closeTriggers() }
        for (id, lane) in lanes.sorted(by: { $0.key < $1.key }) {
            if let truth = lane.groundTruth.withLock({ $0 }) {
                logger.notice("\(id) synthetic ground truth: \(truth.summary)", metadata: ["camera": "\(id)"])
            }
        }
        recorder.event(.stop, inTime ? "clean" : "timeout with frames in flight")
        unwrittenAtStop = recorder.stop(deadline: deadline)
        return inTime
    }

    /// After `stop`: records (inspections, events, messages) accepted but never written to the audit database
    /// because it could not be written; 0 when everything was committed.
    public private(set) var unwrittenAtStop = 0

    /// Why the audit database cannot be written right now, or nil.
    public var storageProblem: String? { health.storageProblem }

    // MARK: building

    private static func sectionDetector(_ config: InspectdConfig, _ model: Model) throws -> FrameDetector {
        try DetectionRules.detectionSection(config, outputShape: model.info.outputs.first?.shape ?? [],
                                            classNames: model.info.classNames).detector
    }

    private static func loadModel(_ config: InspectdConfig, logger: Logger) throws -> LoadedModel {
        let started = Date()
        let model = try ConfigCheck.loadModel(config)
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        logger.info("model loaded in \(seconds) s: \(config.model.path) (\(model.info.classNames.count) classes, sha256 \(model.info.sha256.prefix(12)))")
        return LoadedModel(model: model, path: config.model.path, inputSize: config.model.inputSize,
                           fileStamp: fileStamp(config.model.path))
    }

    /// Size and modification time: enough to notice a replaced model file without hashing it on every reload.
    private static func fileStamp(_ path: String) -> String {
        let a = try? FileManager.default.attributesOfItem(atPath: path)
        return "\((a?[.size] as? NSNumber)?.int64Value ?? -1)-\((a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
    }

    private func buildLanes(_ config: InspectdConfig) throws {
        let rules = try ConfigCheck.detectionRules(config, model: loaded.model)
        for camera in config.cameras {
            guard let r = rules[camera.id] else { continue }
            let lane = try makeLane(camera, rules: r, workers: config.workers.count)
            _ = lane.attach()
            lanesByID.withLock { $0[camera.id] = lane }
        }
    }

    /// A camera's lane, built but neither attached to the queues nor started.
    private func makeLane(_ camera: CameraConfig, rules: DetectionRules, workers: Int) throws -> CameraLane {
        try CameraLane(config: camera, rules: rules, workers: workers, queues: queues, recorder: recorder, live: live,
                       metrics: metrics, health: health, logger: logger, v4l2Device: v4l2Device)
    }

    private func attachAndStart(_ lane: CameraLane) {
        for _ in lane.attach() { health.frameDropped() }
        lanesByID.withLock { $0[lane.config.id] = lane }
        lane.start()
    }

    private func removeLane(_ lane: CameraLane) {
        lane.stopCapture()
        for _ in queues.removeCamera(lane.config.id) { health.frameDropped() }
        lanesByID.withLock { $0[lane.config.id] = nil }
        lane.closeTriggers()
        live.remove(camera: lane.config.id)
    }

    /// The largest frame the cameras deliver (width × height; replay assumed up to 1920 × 1080), to size
    /// decode scratch buffers once.
    private static func largestFramePixels(_ config: InspectdConfig) -> Int {
        config.cameras.map { c -> Int in
            switch c.source {
            case .v4l2(let v): return v.width * v.height
            case .synthetic(let s): return s.width * s.height
            case .replay: return 1920 * 1080
            }
        }.max() ?? 640 * 640
    }

    /// The worker pool for `config` and `model`. `detector` is each worker's default; frames use their own
    /// camera's.
    private func makeWorkers(_ config: InspectdConfig, model: Model, detector: FrameDetector) throws -> [InferenceWorker] {
        let largest = Self.largestFramePixels(config)
        return try (0..<config.workers.count).map { i in
            try InferenceWorker(index: i, model: model, detector: detector,
                                threads: config.workers.threadsPerWorker, queues: queues,
                                lanes: { [unowned self] id in self.lanesByID.withLock { $0[id] } }, snapshots: config.snapshots.enabled,
                                expectedPixels: largest, metrics: metrics, health: health, logger: logger)
        }
    }
}
