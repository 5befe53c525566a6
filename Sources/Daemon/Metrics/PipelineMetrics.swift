import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The daemon's metrics, through swift-metrics with a Prometheus registry behind it (served on `/metrics`).
/// Each daemon owns its registry, so tests can run several without the process-wide `MetricsSystem`.
public final class PipelineMetrics: Sendable {
    /// The stages a frame goes through, for per-stage latency histograms.
    public enum Stage: String, Sendable, CaseIterable {
        /// Waiting in the camera's queue for a worker.
        case queue
        /// JPEG/YUV decode and letterbox into the engine's input.
        case preprocess
        /// The engine run.
        case inference
        /// Box decoding, thresholds, NMS, ROI, line rules.
        case postprocess
        /// From judgement to the committed audit transaction.
        case delivery
        /// From capture to committed in the audit store.
        case total
    }

    /// Counters and gauges of one camera.
    public struct Camera: Sendable {
        public let captured: CoreMetrics.Counter
        public let processed: CoreMetrics.Counter
        public let dropped: CoreMetrics.Counter
        public let decodeErrors: CoreMetrics.Counter
        /// 1 while the camera delivers frames, 0 while it is down.
        public let up: CoreMetrics.Gauge
        /// Frames waiting in the camera's queue.
        public let queueDepth: CoreMetrics.Gauge
        /// Inspections judged NG.
        public let ng: CoreMetrics.Counter
    }

    /// Running ground-truth counts of a camera whose source injects known defects (the synthetic camera);
    /// see `GroundTruthScore` for the matching rule.
    public struct GroundTruth: Sendable {
        public let injected: CoreMetrics.Counter
        public let found: CoreMetrics.Counter
        public let foundRightClass: CoreMetrics.Counter
        public let falseAlarms: CoreMetrics.Counter
        public let detections: CoreMetrics.Counter
    }

    /// The Prometheus registry behind the metrics.
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let cameras = Mutex<[String: Camera]>([:])
    private let groundTruths = Mutex<[String: GroundTruth]>([:])
    private let classCounters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let frameErrors = Mutex<[String: CoreMetrics.Counter]>([:])
    private let thresholdGauges = Mutex<[String: CoreMetrics.Gauge]>([:])
    private let stages: [Stage: CoreMetrics.Timer]
    /// Outgoing messages not yet acknowledged by the broker.
    public let outboxDepth: CoreMetrics.Gauge
    /// 1 while connected to the MQTT broker.
    public let mqttConnected: CoreMetrics.Gauge
    /// Config reloads that were rejected.
    public let reloadFailures: CoreMetrics.Counter
    /// 1 while the audit database can be written, 0 while it cannot (disk full, read-only, I/O error).
    public let auditWritable: CoreMetrics.Gauge

    /// Makes the metrics with their own registry.
    public init() {
        var f = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000]
            .map { .milliseconds($0) }
        f.defaultDurationHistogramBuckets = buckets
        factory = f
        var stages: [Stage: CoreMetrics.Timer] = [:]
        for s in Stage.allCases {
            stages[s] = CoreMetrics.Timer(label: "inspectd_stage_latency_seconds", dimensions: [("stage", s.rawValue)],
                              preferredDisplayUnit: .seconds, factory: f)
        }
        self.stages = stages
        outboxDepth = CoreMetrics.Gauge(label: "inspectd_outbox_depth", factory: f)
        mqttConnected = CoreMetrics.Gauge(label: "inspectd_mqtt_connected", factory: f)
        reloadFailures = CoreMetrics.Counter(label: "inspectd_config_reload_failures_total", factory: f)
        auditWritable = CoreMetrics.Gauge(label: "inspectd_audit_writable", factory: f)
        outboxDepth.record(0); mqttConnected.record(0)
    }

    /// The metrics of camera `id` (made on first use).
    public func camera(_ id: String) -> Camera {
        cameras.withLock { all in
            if let c = all[id] { return c }
            let d = [("camera", id)]
            let c = Camera(captured: CoreMetrics.Counter(label: "inspectd_frames_captured_total", dimensions: d, factory: factory),
                           processed: CoreMetrics.Counter(label: "inspectd_frames_processed_total", dimensions: d, factory: factory),
                           dropped: CoreMetrics.Counter(label: "inspectd_frames_dropped_total", dimensions: d, factory: factory),
                           decodeErrors: CoreMetrics.Counter(label: "inspectd_decode_errors_total", dimensions: d, factory: factory),
                           up: CoreMetrics.Gauge(label: "inspectd_camera_up", dimensions: d, factory: factory),
                           queueDepth: CoreMetrics.Gauge(label: "inspectd_queue_depth", dimensions: d, factory: factory),
                           ng: CoreMetrics.Counter(label: "inspectd_inspections_ng_total", dimensions: d, factory: factory))
            c.up.record(0); c.queueDepth.record(0)
            all[id] = c
            return c
        }
    }

    /// The ground-truth counters of camera `id` (made on first use, so only cameras with ground truth have them).
    public func groundTruth(_ id: String) -> GroundTruth {
        groundTruths.withLock { all in
            if let g = all[id] { return g }
            let d = [("camera", id)]
            func counter(_ label: String) -> CoreMetrics.Counter {
                CoreMetrics.Counter(label: "inspectd_ground_truth_\(label)_total", dimensions: d, factory: factory)
            }
            let g = GroundTruth(injected: counter("injected"), found: counter("found"),
                                foundRightClass: counter("found_right_class"), falseAlarms: counter("false_alarms"),
                                detections: counter("detections"))
            all[id] = g
            return g
        }
    }

    /// Adds one frame's ground-truth score to camera `id`'s counters.
    public func count(_ score: GroundTruthScore, camera id: String) {
        let g = groundTruth(id)
        g.injected.increment(by: score.injected); g.found.increment(by: score.found)
        g.foundRightClass.increment(by: score.foundRightClass); g.falseAlarms.increment(by: score.falseAlarms)
        g.detections.increment(by: score.detections)
    }

    /// Records a stage's latency.
    public func record(_ stage: Stage, nanoseconds: UInt64) {
        stages[stage]?.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// Counts a defect of `className` on camera `camera`.
    public func countDefect(camera: String, className: String) {
        let key = camera + "\u{0}" + className
        let counter = classCounters.withLock { all in
            if let c = all[key] { return c }
            let c = CoreMetrics.Counter(label: "inspectd_defects_total", dimensions: [("camera", camera), ("class", className)],
                            factory: factory)
            all[key] = c
            return c
        }
        counter.increment()
    }

    /// Counts a frame of camera `camera` that was not judged (recorded with verdict ERROR), under `reason`:
    /// a `FrameFailure` or an `AlignmentRefusal` code (`inspectd_frame_errors_total`).
    func countFrameError(camera: String, reason: FrameFailure) { countFrameError(camera: camera, reason: reason.rawValue) }

    /// Counts an unjudged frame under a reason code (see the overload above).
    func countFrameError(camera: String, reason: String) {
        let key = camera + "\u{0}" + reason
        let counter = frameErrors.withLock { all in
            if let c = all[key] { return c }
            let c = CoreMetrics.Counter(label: "inspectd_frame_errors_total",
                                        dimensions: [("camera", camera), ("reason", reason)], factory: factory)
            all[key] = c
            return c
        }
        counter.increment()
    }

    /// Publishes the confidence threshold in force for a class on a camera.
    public func setThreshold(camera: String, className: String, _ value: Double) {
        let key = camera + "\u{0}" + className
        let gauge = thresholdGauges.withLock { all in
            if let g = all[key] { return g }
            let g = CoreMetrics.Gauge(label: "inspectd_threshold", dimensions: [("camera", camera), ("class", className)],
                          factory: factory)
            all[key] = g
            return g
        }
        gauge.record(value)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String { registry.emitToString() }
}
