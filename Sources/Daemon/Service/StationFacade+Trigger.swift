import API
import Delivery
import Foundation
import Triggers

extension StationFacade {
    public func trigger(camera: String, body: Data) async throws -> TriggerAnswer {
        guard let config = currentConfig, let pipeline = attachedPipeline else {
            throw APIError(.serviceUnavailable, "starting", "the pipeline is not running", headers: [.retryAfter: "1"])
        }
        guard let settings = config.cameras.first(where: { $0.id == camera }) else {
            throw APIError(.notFound, "unknown_camera", "no camera '\(camera)'; cameras: "
                           + (config.cameras.isEmpty ? "none" : config.cameras.map(\.id).joined(separator: ", ")))
        }
        guard settings.trigger.isTriggered else {
            throw APIError(.conflict, "not_triggered",
                           "camera '\(camera)' runs free (trigger.mode free_run): it inspects every frame and takes no trigger")
        }
        let request: TriggerRequest
        do { request = try TriggerRequest.parse(body) } catch {
            throw APIError(.badRequest, "bad_trigger", "\(error)")
        }
        let part = PartFields(request, source: "http")
        let result: TriggerResult = try await withCheckedThrowingContinuation { continuation in
            let accepted = pipeline.trigger(camera: camera, part: part) { continuation.resume(returning: $0) }
            if !accepted {
                continuation.resume(throwing: APIError(.serviceUnavailable, "camera_not_running",
                                                       "camera '\(camera)' is not running (removed by a reload, or the daemon is stopping)"))
            }
        }
        switch result.failure {
        case .timeout?:
            throw APIError(.gatewayTimeout, result.failure!.rawValue, result.message)
        case .queueFull?:
            throw APIError(.tooManyRequests, result.failure!.rawValue, result.message, headers: [.retryAfter: "1"])
        case .stopping?:
            throw APIError(.serviceUnavailable, result.failure!.rawValue, result.message)
        case .cameraDown?:
            throw APIError(.serviceUnavailable, result.failure!.rawValue, result.message, headers: [.retryAfter: "5"])
        case .inspectionFailed?, nil:
            return TriggerAnswer(result)
        }
    }
}

extension PartFields {
    /// The part fields of a checked trigger document that arrived over `source` (`http`, `mqtt`, `modbus`).
    init(_ r: TriggerRequest, source: String) {
        self.init(partID: r.partID, lot: r.lot, order: r.order, recipe: r.recipe,
                  meta: r.meta.map { String(decoding: $0, as: UTF8.self) }, triggerID: r.triggerID, source: source)
    }
}

extension TriggerAnswer {
    /// The HTTP answer of a trigger's result.
    init(_ r: TriggerResult) {
        self.init(camera: r.camera, partId: r.part.partID, lot: r.part.lot, order: r.part.order, recipe: r.part.recipe,
                  triggerId: r.part.triggerID, verdict: r.verdict,
                  error: r.failure.map { "\($0.rawValue): \(r.message)" }, sequence: r.sequence,
                  defects: (r.inspection?.defects ?? []).map {
                      .init(classID: $0.classID, className: $0.className, confidence: $0.confidence,
                            threshold: $0.threshold, box: [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2])
                  },
                  latencyMs: Double(r.latencyNanos) / 1e6)
    }
}
