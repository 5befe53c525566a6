import API
import Detection
import Engine
import Foundation
import Imaging
import Logging

/// One image sent to `POST /api/v1/detect`, inspected by a worker of the daemon's pool between camera frames:
/// it waits in the pool's bounded request queue (`FrameQueues.submit`, `http.detect_queue`), which the workers
/// take in turn with the cameras' queues, so the API uses at most its share of the workers and a full queue
/// refuses (429) at once rather than letting a backlog grow.
struct DetectRequest: Sendable {
    /// The body: a JPEG or PNG.
    var image: Data
    /// The rules to apply (the camera's, or the `detection` section's).
    var rules: DetectionRules
    var camera: String?
    /// When the request was queued (monotonic ns), for the queue latency.
    var enqueuedAt: UInt64
    /// Where the answer goes (called exactly once).
    var finish: @Sendable (Result<DetectAnswer, APIError>) -> Void
    /// `record=true`: instead of judging the image here, hands its candidates, its JPEG (a PNG encoded) and the
    /// answer so far to the camera's own path, which calls `finish` (the last argument).
    var record: (@Sendable ([Candidate], Data, DetectAnswer, @escaping @Sendable (Result<DetectAnswer, APIError>) -> Void) -> Void)?

    /// Inspects the image with a worker's `inspector` (`encoder` makes a PNG's evidence JPEG) and answers.
    func run(inspector: FrameInspector, encoder: JPEGEncoder, logger: Logger) {
        if let answer = process(inspector: inspector, encoder: encoder, logger: logger) { finish(answer) }
    }

    /// The answer, or nil when the request was handed to `record` (which answers).
    private func process(inspector: FrameInspector, encoder: JPEGEncoder, logger: Logger) -> Result<DetectAnswer, APIError>? {
        let started = PipelineHealth.monotonicNanos()
        do {
            let pixels = try Self.pixels(image)
            guard !inspector.composition.needsReference else {
                throw APIError(.unprocessableContent, "needs_reference",
                               "the model compares each frame with a golden image; images cannot be sent to it over the API yet")
            }
            let result: FrameInspector.Result
            do { result = try inspector.inspect(pixels, detector: rules.detector) } catch let e as ImagingError {
                throw APIError(.unprocessableContent, "unreadable_image", "the image cannot be decoded: \(e)")
            }
            let info = inspector.model.info
            var answer = DetectAnswer(
                verdict: "", camera: camera, width: result.sourceWidth, height: result.sourceHeight,
                model: (info.path as NSString).lastPathComponent, modelSha256: info.sha256, defects: [],
                latencyMs: .init(queue: Double(started &- enqueuedAt) / 1e6, preprocess: result.timing.preprocessMs,
                                 inference: result.timing.inferenceMs, postprocess: result.timing.postprocessMs, total: 0))
            if let record {
                let jpeg = pixels.format == .jpeg ? image : try encoder.encode(pixels, quality: 90)
                record(result.candidates, jpeg, answer, finish)
                return nil
            }
            let judge = try rules.makeJudge(cameraID: camera ?? "api", state: nil)
            Self.fill(&answer, with: judge.judge(result.candidates, frame: FrameStamp(sequence: 0, captureTime: Date())),
                      enqueuedAt: enqueuedAt)
            return .success(answer)
        } catch let e as APIError {
            return .failure(e)
        } catch let e as ImagingError {
            return .failure(APIError(.unprocessableContent, "unreadable_image", "the image cannot be decoded: \(e)"))
        } catch {
            logger.error("API detect failed: \(error)")
            return .failure(APIError(.internalServerError, "inference_failed", "\(error)"))
        }
    }

    /// Completes `answer` with what the judge made of the image, and the total latency since `enqueuedAt`.
    static func fill(_ answer: inout DetectAnswer, with inspection: Inspection, enqueuedAt: UInt64) {
        answer.verdict = inspection.verdict.rawValue
        answer.defects = inspection.defects.map {
            .init(classID: $0.classID, className: $0.className, confidence: $0.confidence, threshold: $0.threshold,
                  box: [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2])
        }
        answer.latencyMs.total = Double(PipelineHealth.monotonicNanos() &- enqueuedAt) / 1e6
    }

    /// The body as a pixel buffer: a JPEG stays compressed (the preprocessor decodes it, as a camera's), a PNG
    /// is decoded here. Anything else is named.
    static func pixels(_ image: Data) throws -> PixelBuffer {
        if image.count >= 3, image[image.startIndex] == 0xFF, image[image.startIndex + 1] == 0xD8 {
            let out = PixelBuffer(capacity: image.count)
            image.withUnsafeBytes { out.bytes.copyMemory(from: $0.baseAddress!, byteCount: image.count) }
            out.byteCount = image.count; out.format = .jpeg
            return out
        }
        if image.count >= 8, image.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            return try image.withUnsafeBytes { try ImageFileReader.decodePNG($0) }
        }
        let head = image.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw APIError(.unprocessableContent, "unreadable_image",
                       image.isEmpty ? "the body is empty: send the image's bytes"
                                     : "the body is neither JPEG nor PNG (it starts with \(head))")
    }
}
