import Capture
import Delivery
import Detection
import Foundation
import Imaging
import Logging
import Synchronization

/// Everything one camera has in the pipeline: its source and capture thread, its place in the frame queues,
/// the in-order stage that feeds its judge, its detection rules and its interval stats.
final class CameraLane: Sendable {
    /// The camera's config (as last applied).
    let config: CameraConfig
    /// Its source.
    let source: any FrameSource
    /// Counters for `{prefix}/stats`.
    let stats = CameraStats()
    /// Running ground-truth score since the lane started; nil unless the source injects known defects.
    let groundTruth: Mutex<GroundTruthScore?>
    /// The incarnation of this camera's queue whose tickets this lane judges.
    let queueGeneration: UInt64
    /// The golden image frames are aligned to and composed with (`reference`), when the camera has one.
    let reference: ReferenceImage?
    /// The golden image of each recipe (`reference.recipes`), chosen by a trigger's recipe.
    let recipeReferences: [String: ReferenceImage]
    /// The triggers waiting for or being inspected on a frame (`trigger.mode: software`); nil in free run.
    let triggers: TriggerBook?
    private let capture: CaptureLoop
    private let inOrder = InOrderStage<WorkResult>()
    private let rules: Mutex<DetectionRules>
    /// A judge with new rules, waiting to replace the current one at the next frame (so the adaptive state
    /// moves across in frame order).
    private let pendingRules = Mutex<DetectionRules?>(nil)
    /// Touched only inside the in-order stage (one thread at a time), hence `nonisolated(unsafe)`.
    nonisolated(unsafe) private var judge: CameraJudge
    /// When the adaptive state was last saved (monotonic ns); touched only inside the in-order stage.
    nonisolated(unsafe) private var lastStateSave: UInt64 = 0
    /// When a frame failure was last logged, and failures since then (touched only by the in-order stage).
    nonisolated(unsafe) private var lastFailureLog: UInt64 = 0
    nonisolated(unsafe) private var failuresNotLogged = 0
    private let recorder: InspectionRecorder
    /// The latest frame, for the HTTP API.
    let live: LiveFrames
    private let queues: FrameQueues
    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let logger: Logger

    /// What a worker hands to the lane for one frame.
    enum WorkResult: Sendable {
        /// The frame's candidates, with what the recorder needs.
        case judged(Judged)
        /// The frame could not be judged (undecodable, not aligned to its golden image, engine error); it still
        /// takes its turn and is recorded with verdict ERROR. `code` names the kind for counters.
        case failed(stamp: FrameStamp, code: String, reason: String, view: PixelBuffer? = nil, trigger: PendingTrigger? = nil)
    }

    /// A frame's detection output.
    struct Judged: Sendable {
        var candidates: [Candidate]
        var stamp: FrameStamp
        /// Evidence JPEG, when the frame had candidates and snapshots are on.
        var jpeg: Data?
        /// When postprocessing started (monotonic ns), for the postprocess stage latency.
        var postprocessStart: UInt64
        /// The defects the source injected into the frame (synthetic source).
        var groundTruth: [GroundTruthDefect] = []
        /// A copy of the frame's pixels, to become the camera's latest frame (`LiveFrames`).
        var view: PixelBuffer?
        /// An image sent over the HTTP API (`record=true`): told the inspection once it is recorded.
        var reply: (@Sendable (Inspection) -> Void)?
        /// The trigger the frame was taken for (a triggered camera).
        var trigger: PendingTrigger?
    }

    init(config: CameraConfig, rules: DetectionRules, workers: Int, queues: FrameQueues, recorder: InspectionRecorder,
         live: LiveFrames, metrics: PipelineMetrics, health: PipelineHealth, logger: Logger,
         v4l2Device: (any V4L2Device)? = nil) throws {
        self.config = config; self.recorder = recorder; self.live = live; self.metrics = metrics; self.health = health
        var logger = logger
        logger[metadataKey: "camera"] = "\(config.id)"
        self.logger = logger
        source = try SourceFactory.make(config, workers: workers, v4l2Device: v4l2Device)
        if let r = config.reference {
            let settings = AlignmentSettings(maxShift: r.maxShift, maxRotationDegrees: r.maxRotation, minQuality: r.minMatch)
            do {
                if let path = r.image {
                    reference = try ReferenceImage(path: path, settings: settings)
                } else if !r.recipes.isEmpty && source.reference == nil {
                    reference = nil  // every trigger must name its recipe
                } else if let board = source.reference {
                    reference = try ReferenceImage(name: "\(config.id)'s synthetic golden board", image: board,
                                                   settings: settings)
                } else {
                    throw DaemonError("no golden image: only a synthetic camera may omit reference.image")
                }
            } catch {
                throw DaemonError("camera \(config.id): reference.image: \(error)")
            }
            var recipes: [String: ReferenceImage] = [:]
            for (name, path) in r.recipes {
                do { recipes[name] = try ReferenceImage(path: path, settings: settings) } catch {
                    throw DaemonError("camera \(config.id): reference.recipes.\(name): \(error)")
                }
            }
            recipeReferences = recipes
        } else {
            reference = nil
            recipeReferences = [:]
        }
        if case .synthetic = config.source { groundTruth = Mutex(GroundTruthScore()) } else { groundTruth = Mutex(nil) }
        judge = try rules.makeJudge(cameraID: config.id, state: recorder.loadAdaptiveState(camera: config.id))
        self.rules = Mutex(rules)
        self.queues = queues
        queueGeneration = queues.newGeneration()
        let id = config.id
        let stats = self.stats
        let triggers = config.trigger.isTriggered ? TriggerBook(camera: id, settings: config.trigger) : nil
        self.triggers = triggers
        let streams: Bool = { if case .v4l2 = config.source { return true }; return false }()
        capture = CaptureLoop(source: source, queues: queues, metrics: metrics, health: health, logger: logger,
                              triggers: triggers, streams: streams,
                              expire: { t, failure, message in
                                  Self.fail(t, failure, message, book: triggers, recorder: recorder, metrics: metrics)
                              }) { event in
            switch event {
            case .up: recorder.cameraStatus(id, up: true, reason: "")
            case .down(let reason): recorder.cameraStatus(id, up: false, reason: reason)
            case .dropped(let n): stats.dropped(n)
            default: break
            }
        }
        for (c, t) in zip(judge.classNames, judge.thresholds) { metrics.setThreshold(camera: id, className: c, Double(t)) }
    }

    /// Gives the camera its queue (a new incarnation, replacing any queue left under its id, whose frames are
    /// returned, to count as dropped). Until then the lane is only built: a reload can throw it
    /// away without touching the running pipeline.
    func attach() -> [Frame] {
        queues.setCamera(config.id, capacity: config.queueSize, policy: config.overload, generation: queueGeneration)
    }

    /// Starts capturing (after `attach`).
    func start() { health.camera(config.id, .starting); capture.start() }

    /// Stops capturing (the source is stopped and its thread joined).
    func stopCapture() { capture.stop() }

    /// Inspects the part `part` names on this camera's next fitting frame (`trigger.mode: software`) and calls
    /// `then` once with the result, on any thread. A refused trigger (queue full, camera stopping) is answered
    /// at once, and recorded like every error result.
    func trigger(_ part: PartFields, then: @escaping @Sendable (TriggerResult) -> Void) {
        guard let triggers else { return }
        switch triggers.submit(part, now: PipelineHealth.monotonicNanos()) {
        case .queued(let t), .repeated(let t):
            t.onResult(then)
        case .refused(let t, let failure):
            t.onResult(then)
            let text = failure == .queueFull ? "\(triggers.settings.queue) triggers already wait for a frame (trigger.queue)"
                                             : "the camera is stopping"
            Self.fail(t, failure, text, book: triggers, recorder: recorder, metrics: metrics)
        }
    }

    /// Fails every trigger not yet answered (the camera was removed, or the station stops after its last frame).
    func closeTriggers() {
        for t in triggers?.close() ?? [] {
            Self.fail(t, .stopping, "the camera stopped before a frame was judged for it (removed by a reload, or the station stopping)",
                      book: nil, recorder: recorder, metrics: metrics)
        }
    }

    /// A trigger without a verdict: recorded (verdict ERROR with the part's fields and the reason, published like
    /// any error), counted, answered. Nothing happens when it was answered already.
    private static func fail(_ t: PendingTrigger, _ failure: TriggerResult.Failure, _ message: String, book: TriggerBook?,
                             recorder: InspectionRecorder, metrics: PipelineMetrics) {
        guard !t.isFinished else { return }
        book?.release(t)
        let now = PipelineHealth.monotonicNanos()
        let result = TriggerResult(camera: t.camera, part: t.part, inspection: nil, sequence: 0, failure: failure,
                                   message: message, latencyNanos: now &- t.arrivedAt)
        guard t.finish(result) else { return }
        recorder.recordError(camera: t.camera, sequence: 0, captureTime: Date(), captureNanos: t.arrivedAt,
                             reason: "\(failure.rawValue): \(message)", latencyNanos: now &- t.arrivedAt, part: t.part)
        metrics.countTrigger(camera: t.camera, source: t.part.source, outcome: failure.rawValue)
    }

    /// The golden image for a frame taken for a trigger naming `recipe`: the recipe's own when the camera has
    /// `reference.recipes` (a recipe it does not know is refused, never judged against another product's board),
    /// else the camera's one reference (a recipe is then just a part field).
    func reference(recipe: String?) throws -> ReferenceImage? {
        guard !recipeReferences.isEmpty else { return reference }
        let known = recipeReferences.keys.sorted().joined(separator: ", ")
        if let recipe {
            guard let r = recipeReferences[recipe] else {
                throw FrameInspector.ReferenceError(description: "no golden image for recipe '\(SafeName.printable(recipe))' "
                                                    + "(reference.recipes: \(known))", code: "unknown_recipe")
            }
            return r
        }
        guard let reference else {
            throw FrameInspector.ReferenceError(description: "the trigger named no recipe and the camera has no default "
                                                + "golden image (reference.image); recipes: \(known)", code: "no_recipe")
        }
        return reference
    }

    /// The detector in force (for a worker, per frame).
    var detector: FrameDetector { rules.withLock { $0.detector } }

    /// New rules from a reload: the detector applies from the next frame a worker takes, the judge from the
    /// next frame judged (carrying the adaptive state over).
    func setRules(_ new: DetectionRules) {
        rules.withLock { $0 = new }
        pendingRules.withLock { $0 = new }
    }

    /// Hands in a worker's result; frames are judged and recorded in ticket order.
    func complete(ticket: UInt64, _ result: WorkResult) {
        inOrder.complete(ticket, result) { r in judgeAndRecord(r) }
    }

    /// The adaptive threshold state (call only when no frame is in flight, e.g. at stop).
    var thresholdState: ThresholdState { judge.thresholdState }

    private func judgeAndRecord(_ result: WorkResult) {
        defer { health.frameFinished() }
        if let next = pendingRules.withLock({ p -> DetectionRules? in let n = p; p = nil; return n }) {
            do {
                judge = try next.makeJudge(cameraID: config.id, state: judge.thresholdState)
                for (c, t) in zip(judge.classNames, judge.thresholds) {
                    metrics.setThreshold(camera: config.id, className: c, Double(t))
                }
            } catch {
                logger.error("new rules not applied: \(error)")
            }
        }
        switch result {
        case .failed(let stamp, let code, let reason, let view, let trigger):
            if let view {
                live.publish(.init(pixels: view, sequence: stamp.sequence, captureTime: stamp.captureTime, defects: [],
                                   failure: reason, region: rules.withLock { $0.cameraRules.roi }), camera: config.id)
            }
            // A camera sending damaged frames sends many: one line per 10 s, with the count left out. Each one is
            // still recorded (verdict ERROR), published and counted.
            let now = PipelineHealth.monotonicNanos()
            if lastFailureLog == 0 || now &- lastFailureLog >= 10_000_000_000 {
                let more = failuresNotLogged > 0 ? " (and \(failuresNotLogged) more since the last such line)" : ""
                logger.warning("frame not judged: \(reason)\(more)", metadata: ["frame": "\(stamp.sequence)"])
                lastFailureLog = now; failuresNotLogged = 0
            } else {
                failuresNotLogged += 1
            }
            recorder.recordError(camera: config.id, sequence: stamp.sequence, captureTime: stamp.captureTime,
                                 captureNanos: stamp.monotonicNanos, reason: reason,
                                 latencyNanos: now &- stamp.monotonicNanos, part: trigger?.part)
            if let trigger {
                triggers?.release(trigger)
                if trigger.finish(TriggerResult(camera: config.id, part: trigger.part, inspection: nil, sequence: stamp.sequence,
                                                failure: .inspectionFailed, message: reason,
                                                latencyNanos: now &- trigger.arrivedAt)) {
                    metrics.countTrigger(camera: config.id, source: trigger.part.source,
                                         outcome: TriggerResult.Failure.inspectionFailed.rawValue)
                }
            }
            metrics.countFrameError(camera: config.id, reason: code)
            stats.frame(latencyMillis: Double(now &- stamp.monotonicNanos) / 1e6, ng: false)
        case .judged(let j):
            let inspection = judge.judge(j.candidates, frame: j.stamp)
            if let view = j.view {
                live.publish(.init(pixels: view, sequence: j.stamp.sequence, captureTime: j.stamp.captureTime,
                                   defects: inspection.defects, failure: nil, region: rules.withLock { $0.cameraRules.roi }),
                             camera: config.id)
            }
            let judgedAt = PipelineHealth.monotonicNanos()
            metrics.record(.postprocess, nanoseconds: judgedAt &- j.postprocessStart)
            let latency = judgedAt &- j.stamp.monotonicNanos
            recorder.record(inspection, jpeg: j.jpeg, latencyNanos: latency, part: j.trigger?.part)
            j.reply?(inspection)
            if let trigger = j.trigger {
                triggers?.release(trigger)
                let result = TriggerResult(camera: config.id, part: trigger.part, inspection: inspection,
                                           sequence: inspection.sequence, failure: nil, message: "",
                                           latencyNanos: PipelineHealth.monotonicNanos() &- trigger.arrivedAt)
                if trigger.finish(result) {
                    metrics.countTrigger(camera: config.id, source: trigger.part.source, outcome: result.verdict.lowercased())
                    metrics.record(.trigger, nanoseconds: result.latencyNanos)
                }
            }
            let recordedAt = PipelineHealth.monotonicNanos()
            if recordedAt &- lastStateSave > 30_000_000_000 {
                lastStateSave = recordedAt
                recorder.saveAdaptiveState(camera: config.id, judge.thresholdState)
            }
            metrics.record(.delivery, nanoseconds: recordedAt &- judgedAt)
            metrics.record(.total, nanoseconds: recordedAt &- j.stamp.monotonicNanos)
            let cameraMetrics = metrics.camera(config.id)
            cameraMetrics.processed.increment()
            stats.frame(latencyMillis: Double(latency) / 1e6, ng: inspection.verdict == .ng)
            let scored = groundTruth.withLock { total -> GroundTruthScore? in
                guard var t = total else { return nil }
                let frameScore = GroundTruthScore(defects: inspection.defects, truth: j.groundTruth)
                t += frameScore
                total = t
                return frameScore
            }
            if let scored { metrics.count(scored, camera: config.id) }
            if inspection.verdict == .ng {
                cameraMetrics.ng.increment()
                for d in inspection.defects { metrics.countDefect(camera: config.id, className: d.className) }
                let list = inspection.defects.map { "\($0.className) \(String(format: "%.2f", $0.confidence))" }
                    .joined(separator: ", ")
                logger.info("NG: \(list)", metadata: ["frame": "\(inspection.sequence)"])
            } else {
                logger.debug("OK", metadata: ["frame": "\(inspection.sequence)"])
            }
        }
    }
}
