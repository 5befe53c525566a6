import API
import Capture
import Detection
import Engine
import Foundation
import Logging
import Synchronization

/// The daemon as the HTTP API sees it (`StationAPI`): a thin adapter from what the service already knows (the
/// config in force, the model, health and metrics) to the API's documents. The service tells it the config and
/// model on start and on every accepted reload, and attaches the pipeline, whose worker pool inspects the API's
/// images and whose cameras' latest frames `frame.jpg` serves.
public final class StationFacade: StationAPI {
    let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let startedAt = Date()
    private let current = Mutex<(config: InspectdConfig?, model: Model?)>((nil, nil))
    /// Each camera's detection rules (key "" for the `detection` section's), built on first use per config.
    private let rules = Mutex<[String: DetectionRules]>([:])
    /// The pipeline's latest frames and camera sources (nil until `attach`).
    private let pipeline = Mutex<Pipeline?>(nil)
    /// Encodes and annotates latest frames for `frame.jpg`, one at a time on `frameQueue`; at most
    /// `maxFrameRequests` wait, so pollers cannot pile work up.
    private let renderer = try? SnapshotAnnotator(expectedPixels: 0)
    private let frameQueue = DispatchQueue(label: "inspectd.api.frames")
    private let frameRequests = Atomic<Int>(0)
    private let maxFrameRequests = 8
    /// The audit database, read-only, for the inspection and defect queries (StationFacade+Audit.swift).
    let auditReader = AuditReader()
    /// `audit.path` in force (nil before the first `update`).
    var auditPath: String? { current.withLock { $0.config?.audit.path } }
    /// `site.line` and `site.station` in force (empty before the first `update`), for the event feed.
    var currentSite: (line: String, station: String) { current.withLock { ($0.config?.site.line ?? "", $0.config?.site.station ?? "") } }

    /// A façade over `metrics` and `health`; `status` and `cameras` work once `update` was called, `detect` and
    /// `frame` once the pipeline is attached too.
    public init(metrics: PipelineMetrics, health: PipelineHealth) {
        self.metrics = metrics; self.health = health
    }

    /// The config and model in force (start and accepted reloads).
    public func update(config: InspectdConfig, model: Model) {
        current.withLock { $0 = (config, model) }
        rules.withLock { $0 = [:] }
    }

    /// Gives the façade the running pipeline (its cameras' latest frames and sources).
    public func attach(_ pipeline: Pipeline) { self.pipeline.withLock { $0 = pipeline } }

    /// The config in force and the attached pipeline (extensions).
    var currentConfig: InspectdConfig? { current.withLock { $0.config } }
    var attachedPipeline: Pipeline? { pipeline.withLock { $0 } }

    /// Lets go of the pipeline (the daemon is stopping: its stop answers the API images still waiting, 503).
    public func stop() { pipeline.withLock { $0 = nil } }

    public func frame(camera: String, annotated: Bool) async throws -> FrameImage {
        guard let config = current.withLock({ $0.config }), let live = pipeline.withLock({ $0?.live }),
              let renderer else {
            throw APIError(.serviceUnavailable, "starting", "the pipeline is not running", headers: [.retryAfter: "1"])
        }
        guard config.cameras.contains(where: { $0.id == camera }) else {
            throw APIError(.notFound, "unknown_camera", "no camera '\(camera)'; cameras: "
                           + (config.cameras.isEmpty ? "none" : config.cameras.map(\.id).joined(separator: ", ")))
        }
        guard frameRequests.add(1, ordering: .relaxed).newValue <= maxFrameRequests else {
            frameRequests.subtract(1, ordering: .relaxed)
            throw APIError(.tooManyRequests, "busy", "\(maxFrameRequests) frame images are already being made; retry later",
                           headers: [.retryAfter: "1"])
        }
        defer { frameRequests.subtract(1, ordering: .relaxed) }
        return try await withCheckedThrowingContinuation { continuation in
            frameQueue.async {
                continuation.resume(with: Result {
                    try live.read(camera: camera) { latest in
                        guard let latest else {
                            throw APIError(.serviceUnavailable, "no_frame",
                                           "camera '\(camera)' has not delivered a frame yet", headers: [.retryAfter: "1"])
                        }
                        do {
                            let jpeg = annotated
                                ? try renderer.annotate(frame: latest.pixels, defects: latest.defects, region: latest.region)
                                : try renderer.jpeg(of: latest.pixels)
                            return FrameImage(jpeg: jpeg, sequence: latest.sequence, captureTime: latest.captureTime)
                        } catch {
                            throw APIError(.serviceUnavailable, "unreadable_frame",
                                           "camera '\(camera)''s latest frame (\(latest.sequence)) cannot be made an image: \(error)"
                                           + (latest.failure.map { "; it was not judged: \($0)" } ?? ""),
                                           headers: [.retryAfter: "1"])
                        }
                    }
                })
            }
        }
    }

    /// What camera `id`'s source delivers: the V4L2 driver's answer, else the latest frame's layout and size.
    private func negotiated(_ camera: CameraConfig) -> CameraDocument.Negotiated? {
        guard let pipeline = pipeline.withLock({ $0 }) else { return nil }
        if let v4l2 = pipeline.lane(camera.id)?.source as? V4L2Source {
            return v4l2.negotiated.map { .init(format: $0.format.rawValue, width: $0.width, height: $0.height, fps: $0.fps,
                                              driverBuffers: $0.bufferCount) }
        }
        let fps: Double
        switch camera.source {
        case .v4l2(let v): fps = v.fps
        case .replay(let r): fps = r.fps
        case .synthetic(let y): fps = y.fps
        }
        return pipeline.live.read(camera: camera.id) { latest -> CameraDocument.Negotiated? in
            guard let p = latest?.pixels, p.width > 0, p.height > 0 else { return nil }
            return .init(format: p.format.rawValue, width: p.width, height: p.height, fps: fps, driverBuffers: nil)
        }
    }

    /// A V4L2 camera's controls as its source read them last; none for other sources.
    private func controls(_ camera: String) -> [CameraDocument.Control] {
        guard let v4l2 = pipeline.withLock({ $0 })?.lane(camera)?.source as? V4L2Source else { return [] }
        return v4l2.controls.map {
            .init(name: $0.name, id: $0.id, type: $0.type, value: $0.value, minimum: $0.minimum, maximum: $0.maximum,
                  step: $0.step, defaultValue: $0.defaultValue, inactive: $0.inactive)
        }
    }

    public func authenticationFailed(reason: String) { metrics.countAuthFailure(reason: reason) }

    public func detect(image: Data, camera: String?, record: Bool) async throws -> DetectAnswer {
        let enqueuedAt = PipelineHealth.monotonicNanos()
        let (config, model) = current.withLock { $0 }
        guard let config, let model, let pipeline = pipeline.withLock({ $0 }) else {
            throw APIError(.serviceUnavailable, "starting", "the model is not loaded yet", headers: [.retryAfter: "1"])
        }
        let index = camera.map { id in config.cameras.firstIndex { $0.id == id } }
        if let camera, index == nil || index! == nil {
            throw APIError(.notFound, "unknown_camera", "no camera '\(camera)'; cameras: "
                           + (config.cameras.isEmpty ? "none" : config.cameras.map(\.id).joined(separator: ", ")))
        }
        let rules: DetectionRules
        do {
            rules = try self.rules.withLock { cache in
                if let r = cache[camera ?? ""] { return r }
                let shape = model.info.outputs.first?.shape ?? [], names = model.info.classNames
                let r = try (index ?? nil).map { i in
                    try DetectionRules(config: config, camera: config.cameras[i], index: i, outputShape: shape, classNames: names)
                } ?? DetectionRules.detectionSection(config, outputShape: shape, classNames: names)
                cache[camera ?? ""] = r
                return r
            }
        } catch {
            throw APIError(.internalServerError, "rules", "the detection rules cannot be built: \(error)")
        }
        var recordJob: (@Sendable ([Candidate], Data, DetectAnswer, @escaping @Sendable (Result<DetectAnswer, APIError>) -> Void) -> Void)?
        if record, let camera {
            recordJob = { candidates, jpeg, partial, finish in
                let accepted = pipeline.recordAPIImage(camera: camera, candidates: candidates, jpeg: jpeg, captureTime: Date(),
                                                       receivedNanos: enqueuedAt) { inspection in
                    // Called on the camera's judging thread: waiting for the commit happens elsewhere.
                    DispatchQueue.global().async {
                        var answer = partial
                        DetectRequest.fill(&answer, with: inspection, enqueuedAt: enqueuedAt)
                        answer.auditId = pipeline.auditID(of: inspection, timeout: 10)
                        finish(.success(answer))
                    }
                }
                if !accepted {
                    finish(.failure(APIError(.serviceUnavailable, "camera_not_running",
                                             "camera '\(camera)' is not running (removed by a reload, or the daemon is stopping)")))
                }
            }
        }
        let recordTo = recordJob
        let queue = config.http.detectQueue
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DetectAnswer, any Error>) in
            let request = DetectRequest(image: image, rules: rules, camera: camera, enqueuedAt: enqueuedAt,
                                        finish: { continuation.resume(with: $0.mapError { $0 as any Error }) },
                                        record: recordTo)
            if !pipeline.submit(request) {
                continuation.resume(throwing: APIError(
                    .tooManyRequests, "busy", "\(queue) images are already waiting to be inspected (http.detect_queue); retry later",
                    headers: [.retryAfter: "1"]))
            }
        }
    }

    public func metricsExposition() -> String { metrics.exposition() }

    public func healthz() -> (healthy: Bool, json: Data) {
        let report = health.report()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (report.status == "ok", (try? encoder.encode(report)) ?? Data("{}".utf8))
    }

    public func status() -> StatusDocument {
        let (config, loaded) = current.withLock { $0 }
        let model = loaded?.info
        let report = health.report()
        let snapshot = MetricsSnapshot(metrics.exposition(heap: false))
        let build = BuildInfo.current
        let shape = model?.inputs.first?.shape ?? []
        let auditPath = config?.audit.path ?? ""
        let auditBytes = [auditPath, auditPath + "-wal"].reduce(0) { sum, path in
            sum + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)
        }
        return StatusDocument(
            version: build.version, commit: build.commit, buildDate: build.date,
            line: config?.site.line ?? "", station: config?.site.station ?? "",
            configRevision: config?.revision ?? "", uptimeSeconds: Date().timeIntervalSince(startedAt),
            health: report.status, problems: report.problems,
            model: StatusDocument.Model(name: model.map { ($0.path as NSString).lastPathComponent } ?? "",
                                        sha256: model?.sha256 ?? "",
                                        inputSize: shape.count == 4 ? [shape[2], shape[3]] : [],
                                        classes: model?.classNames ?? [], quantized: model?.isQuantized ?? false),
            workers: config?.workers.count ?? 0, threadsPerWorker: config?.workers.threadsPerWorker ?? 0,
            mqtt: StatusDocument.MQTT(enabled: config?.mqtt.enabled ?? false, connected: report.mqttConnected ?? false,
                                      outboxBacklog: Int(snapshot.value("inspectd_outbox_depth") ?? 0),
                                      oldestPendingAgeSeconds: oldestPendingAge()),
            audit: StatusDocument.Audit(path: auditPath, bytes: auditBytes, problem: health.storageProblem),
            cameras: config?.cameras.count ?? 0, snapshots: config.map { Self.snapshotUse($0.snapshots) })
    }

    public func cameras() -> [CameraDocument] {
        guard let config = current.withLock({ $0.config }) else { return [] }
        let report = health.report()
        let snapshot = MetricsSnapshot(metrics.exposition(heap: false))
        return config.cameras.sorted { $0.id < $1.id }.map { camera in
            let id = camera.id, state = report.cameras[id]
            func count(_ name: String) -> Int { Int(snapshot.value(name, ["camera": id]) ?? 0) }
            let adaptive = config.detection.settings.adaptive
            let thresholds = snapshot.all("inspectd_threshold", ["camera": id])
                .compactMap { s in s.labels["class"].map { name in
                    CameraDocument.Threshold(className: name, threshold: s.value,
                                             adaptive: adaptive.enabled && (adaptive.classes?.contains(name) ?? true))
                } }
                .sorted { $0.className < $1.className }
            var document = CameraDocument(id: id, state: state?.state.rawValue ?? "starting", stateSeconds: state?.seconds ?? 0,
                                      reason: state?.reason, source: Self.source(camera.source),
                                      framesCaptured: count("inspectd_frames_captured_total"),
                                      framesProcessed: count("inspectd_frames_processed_total"),
                                      framesDropped: count("inspectd_frames_dropped_total"),
                                      ngFrames: count("inspectd_inspections_ng_total"),
                                      queueDepth: count("inspectd_queue_depth"), queueSize: camera.queueSize,
                                      thresholds: thresholds)
            document.negotiated = negotiated(camera)
            document.trigger = camera.trigger.mode.rawValue
            document.controls = controls(camera.id)
            return document
        }
    }

    private static func source(_ s: CameraConfig.Source) -> CameraDocument.Source {
        switch s {
        case .v4l2(let v):
            return .init(type: s.type, location: v.device, width: v.width, height: v.height, fps: v.fps)
        case .replay(let r):
            let location: String
            switch r.files { case .path(let p): location = p; case .glob(let g): location = g; case .list(let l): location = l }
            return .init(type: s.type, location: location, width: nil, height: nil, fps: r.fps)
        case .synthetic(let y):
            return .init(type: s.type, location: nil, width: y.width, height: y.height, fps: y.fps)
        }
    }
}
