import API
import Engine
import Foundation
import Logging
import Synchronization

/// The daemon as the HTTP API sees it (`StationAPI`): a thin adapter from what the service already knows (the
/// config in force, the model, health and metrics) to the API's documents. It holds no pipeline: the service
/// tells it the config and model on start and on every accepted reload.
public final class StationFacade: StationAPI {
    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let startedAt = Date()
    private let current = Mutex<(config: InspectdConfig?, model: Model?)>((nil, nil))
    /// Each camera's detection rules (key "" for the `detection` section's), built on first use per config.
    private let rules = Mutex<[String: DetectionRules]>([:])
    private let detector: DetectService
    /// The audit database, read-only, for the inspection and defect queries (StationFacade+Audit.swift).
    let auditReader = AuditReader()
    /// `audit.path` in force (nil before the first `update`).
    var auditPath: String? { current.withLock { $0.config?.audit.path } }

    /// A façade over `metrics` and `health`; `status`, `cameras` and `detect` work once `update` was called.
    /// `detectQueue` bounds the images waiting for `detect`; `threads` is the engine's threads per image.
    public init(metrics: PipelineMetrics, health: PipelineHealth, detectQueue: Int = 4, threads: Int = 1,
                logger: Logger = Logger(label: "inspectd.api")) {
        self.metrics = metrics; self.health = health
        detector = DetectService(capacity: detectQueue, threads: threads, logger: logger)
    }

    deinit { detector.stop() }

    /// The config and model in force (start and accepted reloads).
    public func update(config: InspectdConfig, model: Model) {
        current.withLock { $0 = (config, model) }
        rules.withLock { $0 = [:] }
    }

    /// Stops inspecting API images (the daemon is stopping); waiting requests get 503.
    public func stop() { detector.stop() }

    public func authenticationFailed(reason: String) { metrics.countAuthFailure(reason: reason) }

    public func detect(image: Data, camera: String?) async throws -> DetectAnswer {
        let enqueuedAt = PipelineHealth.monotonicNanos()
        let (config, model) = current.withLock { $0 }
        guard let config, let model else {
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
        let service = detector
        let queue = service.capacity
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<DetectAnswer, any Error>) in
            let job = DetectService.Job(image: image, model: model, rules: rules, camera: camera, enqueuedAt: enqueuedAt,
                                        finish: { continuation.resume(with: $0.mapError { $0 as any Error }) })
            if !service.submit(job) {
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
        let snapshot = MetricsSnapshot(metrics.exposition())
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
        let snapshot = MetricsSnapshot(metrics.exposition())
        return config.cameras.sorted { $0.id < $1.id }.map { camera in
            let id = camera.id, state = report.cameras[id]
            func count(_ name: String) -> Int { Int(snapshot.value(name, ["camera": id]) ?? 0) }
            let thresholds = snapshot.all("inspectd_threshold", ["camera": id])
                .compactMap { s in s.labels["class"].map { CameraDocument.Threshold(className: $0, threshold: s.value) } }
                .sorted { $0.className < $1.className }
            return CameraDocument(id: id, state: state?.state.rawValue ?? "starting", stateSeconds: state?.seconds ?? 0,
                                  reason: state?.reason, source: Self.source(camera.source),
                                  framesCaptured: count("inspectd_frames_captured_total"),
                                  framesProcessed: count("inspectd_frames_processed_total"),
                                  framesDropped: count("inspectd_frames_dropped_total"),
                                  ngFrames: count("inspectd_inspections_ng_total"),
                                  queueDepth: count("inspectd_queue_depth"), queueSize: camera.queueSize,
                                  thresholds: thresholds)
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
