import Capture
import Detection
import Foundation
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
    private let recorder: InspectionRecorder
    private let queues: FrameQueues
    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let logger: Logger

    /// What a worker hands to the lane for one frame.
    enum WorkResult: Sendable {
        /// The frame's candidates, with what the recorder needs.
        case judged(Judged)
        /// The frame could not be used (decode error, engine error); it still takes its turn.
        case failed(sequence: UInt64, reason: String)
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
    }

    init(config: CameraConfig, rules: DetectionRules, workers: Int, queues: FrameQueues, recorder: InspectionRecorder,
         metrics: PipelineMetrics, health: PipelineHealth, logger: Logger, v4l2Device: (any V4L2Device)? = nil) throws {
        self.config = config; self.recorder = recorder; self.metrics = metrics; self.health = health
        var logger = logger
        logger[metadataKey: "camera"] = "\(config.id)"
        self.logger = logger
        source = try SourceFactory.make(config, workers: workers, v4l2Device: v4l2Device)
        if case .synthetic = config.source { groundTruth = Mutex(GroundTruthScore()) } else { groundTruth = Mutex(nil) }
        judge = try rules.makeJudge(cameraID: config.id, state: recorder.loadAdaptiveState(camera: config.id))
        self.rules = Mutex(rules)
        self.queues = queues
        queueGeneration = queues.newGeneration()
        let id = config.id
        let stats = self.stats
        capture = CaptureLoop(source: source, queues: queues, metrics: metrics, health: health, logger: logger) { event in
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
    /// returned to be recycled by their own source). Until then the lane is only built: a reload can throw it
    /// away without touching the running pipeline.
    func attach() -> [Frame] {
        queues.setCamera(config.id, capacity: config.queueSize, policy: config.overload, generation: queueGeneration)
    }

    /// Starts capturing (after `attach`).
    func start() { health.camera(config.id, .starting); capture.start() }

    /// Stops capturing (the source is stopped and its thread joined).
    func stopCapture() { capture.stop() }

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
        case .failed(let sequence, let reason):
            logger.warning("frame not inspected: \(reason)", metadata: ["frame": "\(sequence)"])
        case .judged(let j):
            let inspection = judge.judge(j.candidates, frame: j.stamp)
            let judgedAt = PipelineHealth.monotonicNanos()
            metrics.record(.postprocess, nanoseconds: judgedAt &- j.postprocessStart)
            let latency = judgedAt &- j.stamp.monotonicNanos
            recorder.record(inspection, jpeg: j.jpeg, latencyNanos: latency)
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
