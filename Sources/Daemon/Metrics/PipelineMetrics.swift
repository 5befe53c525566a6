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
        /// A triggered camera: from the trigger's arrival to its result (judged and handed to the audit writer).
        case trigger
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
    private let authFailures = Mutex<[String: CoreMetrics.Counter]>([:])
    private let triggerCounters = Mutex<[String: CoreMetrics.Counter]>([:])
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
    /// `GET /api/v1/events` clients cut off because they stopped reading.
    public let eventClientCut: CoreMetrics.Counter
    /// The heap's parts (`HeapUsage`), read at each scrape: growth in a soak is attributed from these.
    private let memory: [String: CoreMetrics.Gauge]

    /// Makes the metrics with their own registry.
    public init() {
        var f = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000]
            .map { .milliseconds($0) }
        f.defaultDurationHistogramBuckets = buckets
        factory = f
        var stages: [Stage: CoreMetrics.Timer] = [:]
        for s in Stage.allCases {
            let d = [("stage", s.rawValue)]
            let name = "inspectd_stage_latency_seconds"
            let histogram = registry.makeDurationHistogram(descriptor: Self.descriptor(name), labels: d, buckets: buckets)
            stages[s] = CoreMetrics.Timer(label: name, dimensions: d, handler: histogram, factory: f)
        }
        self.stages = stages
        outboxDepth = Self.gauge("inspectd_outbox_depth", [], registry, f)
        mqttConnected = Self.gauge("inspectd_mqtt_connected", [], registry, f)
        reloadFailures = Self.counter("inspectd_config_reload_failures_total", [], registry, f)
        auditWritable = Self.gauge("inspectd_audit_writable", [], registry, f)
        eventClientCut = Self.counter("inspectd_http_event_clients_cut_total", [], registry, f)
        var memory: [String: CoreMetrics.Gauge] = [:]
        for kind in ["heap_in_use", "heap_free", "heap_mmapped", "sqlite"] {
            memory[kind] = Self.gauge("inspectd_memory_bytes", [("kind", kind)], registry, f)
        }
        self.memory = memory
        outboxDepth.record(0); mqttConnected.record(0)
        let build = BuildInfo.current
        Self.gauge("inspectd_build_info", [("version", build.version), ("commit", build.commit)], registry, f).record(1)
    }

    /// HELP text of every metric, by name; `promtool check metrics` wants one for each (Scripts/tests/deb-install.test).
    static let help: [String: String] = [
        "inspectd_stage_latency_seconds": "Time a frame spends in each pipeline stage (stage=total: capture to audit commit).",
        "inspectd_outbox_depth": "Outgoing MQTT messages not yet acknowledged by the broker.",
        "inspectd_mqtt_connected": "1 while connected to the MQTT broker, else 0.",
        "inspectd_config_reload_failures_total": "Config reloads (SIGHUP) that were rejected.",
        "inspectd_build_info": "Always 1; the labels name the running build's version and git commit.",
        "inspectd_frames_captured_total": "Frames delivered by the camera.",
        "inspectd_frames_processed_total": "Frames inspected and recorded.",
        "inspectd_frames_dropped_total": "Frames dropped because the camera's queue was full.",
        "inspectd_decode_errors_total": "Frames whose image could not be decoded.",
        "inspectd_camera_up": "1 while the camera delivers frames, 0 while it is down.",
        "inspectd_queue_depth": "Frames waiting in the camera's queue for an inference worker.",
        "inspectd_inspections_ng_total": "Inspections judged NG (defects found).",
        "inspectd_ground_truth_injected_total": "Defects the synthetic camera injected (ground truth).",
        "inspectd_ground_truth_found_total": "Injected defects matched by a detection.",
        "inspectd_ground_truth_found_right_class_total": "Injected defects matched by a detection of the right class.",
        "inspectd_ground_truth_false_alarms_total": "Detections that matched no injected defect.",
        "inspectd_ground_truth_detections_total": "Detections on frames with ground truth.",
        "inspectd_defects_total": "Defects detected, by camera and class.",
        "inspectd_threshold": "Confidence threshold in force for a class on a camera (adaptive thresholds move it).",
        "inspectd_audit_writable": "1 while the audit database accepts writes, 0 while records are held in the spill.",
        "inspectd_frame_errors_total": "Frames not judged (recorded with verdict ERROR), by camera and reason.",
        "inspectd_http_auth_failures_total": "HTTP requests refused by http.auth (reason: missing, unknown or forbidden).",
        "inspectd_triggers_total": "Triggers answered, by camera, source (http, mqtt, modbus) and outcome (ok, ng, trigger_timeout, camera_down, trigger_queue_full, inspection_failed, stopping).",
        "inspectd_http_event_clients_cut_total": "GET /api/v1/events clients cut off because they accepted no data for 10 s while events waited.",
        "inspectd_memory_bytes": "The daemon's heap at this scrape, from glibc malloc_info: in use (kind=heap_in_use, of it SQLite's page caches and statements: kind=sqlite), free chunks kept (heap_free), large blocks mapped directly (heap_mmapped).",
    ]

    /// The full name (unit suffix included) with its HELP text.
    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name]!)
    }

    private static func counter(_ name: String, _ d: [(String, String)], _ registry: PrometheusCollectorRegistry,
                                _ f: PrometheusMetricsFactory) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name, dimensions: d,
                            handler: registry.makeCounter(descriptor: descriptor(name), labels: d), factory: f)
    }

    private static func gauge(_ name: String, _ d: [(String, String)], _ registry: PrometheusCollectorRegistry,
                              _ f: PrometheusMetricsFactory) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: d, aggregate: false,
                          handler: registry.makeGauge(descriptor: descriptor(name), labels: d), factory: f)
    }

    /// The metrics of camera `id` (made on first use).
    public func camera(_ id: String) -> Camera {
        cameras.withLock { all in
            if let c = all[id] { return c }
            let d = [("camera", id)]
            let c = Camera(captured: Self.counter("inspectd_frames_captured_total", d, registry, factory),
                           processed: Self.counter("inspectd_frames_processed_total", d, registry, factory),
                           dropped: Self.counter("inspectd_frames_dropped_total", d, registry, factory),
                           decodeErrors: Self.counter("inspectd_decode_errors_total", d, registry, factory),
                           up: Self.gauge("inspectd_camera_up", d, registry, factory),
                           queueDepth: Self.gauge("inspectd_queue_depth", d, registry, factory),
                           ng: Self.counter("inspectd_inspections_ng_total", d, registry, factory))
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
                Self.counter("inspectd_ground_truth_\(label)_total", d, registry, factory)
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
            let c = Self.counter("inspectd_defects_total", [("camera", camera), ("class", className)], registry, factory)
            all[key] = c
            return c
        }
        counter.increment()
    }

    /// Counts a frame of camera `camera` that was not judged (recorded with verdict ERROR), under `reason`:
    /// a `FrameFailure` or an `AlignmentRefusal` code (`inspectd_frame_errors_total`).
    func countFrameError(camera: String, reason: FrameFailure) { countFrameError(camera: camera, reason: reason.rawValue) }

    /// Counts a request refused by `http.auth` (`reason`: missing, unknown or forbidden).
    func countAuthFailure(reason: String) {
        authFailures.withLock { all in
            if let c = all[reason] { return c }
            let c = Self.counter("inspectd_http_auth_failures_total", [("reason", reason)], registry, factory)
            all[reason] = c
            return c
        }.increment()
    }

    /// Counts a trigger's result on camera `camera` by where it came from (`http`, `mqtt`, `modbus`) and its
    /// outcome (`ok`, `ng`, or a `TriggerResult.Failure` code) (`inspectd_triggers_total`).
    func countTrigger(camera: String, source: String, outcome: String) {
        let key = [camera, source, outcome].joined(separator: "\u{0}")
        triggerCounters.withLock { all in
            if let c = all[key] { return c }
            let c = Self.counter("inspectd_triggers_total", [("camera", camera), ("source", source), ("outcome", outcome)],
                                 registry, factory)
            all[key] = c
            return c
        }.increment()
    }

    /// Counts an unjudged frame under a reason code (see the overload above).
    func countFrameError(camera: String, reason: String) {
        let key = camera + "\u{0}" + reason
        let counter = frameErrors.withLock { all in
            if let c = all[key] { return c }
            let c = Self.counter("inspectd_frame_errors_total", [("camera", camera), ("reason", reason)], registry, factory)
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
            let g = Self.gauge("inspectd_threshold", [("camera", camera), ("class", className)], registry, factory)
            all[key] = g
            return g
        }
        gauge.record(value)
    }

    /// The Prometheus text exposition of every metric; `heap`: read the heap's parts first (a `/metrics` scrape;
    /// the API's own documents built from the exposition skip it).
    public func exposition(heap refresh: Bool = true) -> String {
        if refresh, let heap = HeapUsage.read() {
            let mib = 1_048_576.0
            memory["heap_in_use"]?.record(heap.inUseMB * mib); memory["heap_free"]?.record(heap.freeMB * mib)
            memory["heap_mmapped"]?.record(heap.mmappedMB * mib)
            memory["sqlite"]?.record(heap.sqliteMB * mib)
        }
        return registry.emitToString()
    }
}
