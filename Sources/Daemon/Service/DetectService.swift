import API
import Detection
import Engine
import Foundation
import Imaging
import Logging

/// Inspects the images sent to `POST /api/v1/detect`, one at a time on its own thread with its own engine
/// session, through a bounded queue: a full queue refuses (429) at once rather than letting a backlog grow, and
/// no request ever waits on, or makes wait, a camera's frame queue.
///
/// `@unchecked Sendable`: `jobs` and `closed` are guarded by `condition`; `inspector` is used only by the
/// service's thread.
final class DetectService: @unchecked Sendable {
    /// One image to inspect, with the rules to apply and where to send the answer.
    struct Job {
        var image: Data
        var model: Model
        var rules: DetectionRules
        var camera: String?
        var enqueuedAt: UInt64
        var finish: @Sendable (Result<DetectAnswer, APIError>) -> Void
        /// `record=true`: instead of judging the image here, hands its candidates, its JPEG (a PNG encoded) and
        /// the answer so far to the camera's own path, which calls `finish` (the last argument).
        var record: (@Sendable ([Candidate], Data, DetectAnswer, @escaping @Sendable (Result<DetectAnswer, APIError>) -> Void) -> Void)?
    }

    /// Requests waiting at most (besides the one being inspected).
    let capacity: Int
    private let threads: Int
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var closed = false
    private var inspector: FrameInspector?
    /// Encodes PNG images recorded with `record=true` as their evidence JPEG (service thread only).
    private var encoder: JPEGEncoder?
    private let logger: Logger

    /// Starts the service's thread; `threads` is the engine's thread count inside one inference.
    init(capacity: Int, threads: Int, logger: Logger) {
        self.capacity = capacity; self.threads = threads; self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = "api-detect"
        thread.start()
    }

    /// Queues `job`; false (and the job dropped) when the queue is full or the service stopped.
    func submit(_ job: Job) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard !closed, jobs.count < capacity else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Stops the thread after the current image; waiting requests get 503.
    func stop() {
        condition.lock()
        closed = true
        let waiting = jobs
        jobs = []
        condition.broadcast()
        condition.unlock()
        for job in waiting { job.finish(.failure(APIError(.serviceUnavailable, "stopping", "the daemon is stopping"))) }
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !closed { condition.wait() }
            if closed { condition.unlock(); return }
            let job = jobs.removeFirst()
            condition.unlock()
            if let answer = process(job) { job.finish(answer) }
        }
    }

    /// The answer, or nil when the job was handed to `job.record` (which answers).
    private func process(_ job: Job) -> Result<DetectAnswer, APIError>? {
        let started = PipelineHealth.monotonicNanos()
        do {
            let pixels = try Self.pixels(job.image)
            if inspector.map({ $0.model !== job.model }) ?? true {
                inspector = nil  // the model was reloaded: free the old session first
                inspector = try FrameInspector(model: job.model, detector: job.rules.detector, threads: threads,
                                               expectedPixels: 1920 * 1080)
            }
            guard let inspector else { throw APIError(.internalServerError, "internal", "no inspector") }
            guard !inspector.composition.needsReference else {
                throw APIError(.unprocessableContent, "needs_reference",
                               "the model compares each frame with a golden image; images cannot be sent to it over the API yet")
            }
            let result: FrameInspector.Result
            do { result = try inspector.inspect(pixels, detector: job.rules.detector) } catch let e as ImagingError {
                throw APIError(.unprocessableContent, "unreadable_image", "the image cannot be decoded: \(e)")
            }
            let info = job.model.info
            var answer = DetectAnswer(
                verdict: "", camera: job.camera, width: result.sourceWidth, height: result.sourceHeight,
                model: (info.path as NSString).lastPathComponent, modelSha256: info.sha256, defects: [],
                latencyMs: .init(queue: Double(started &- job.enqueuedAt) / 1e6, preprocess: result.timing.preprocessMs,
                                 inference: result.timing.inferenceMs, postprocess: result.timing.postprocessMs, total: 0))
            if let record = job.record {
                let jpeg: Data
                if pixels.format == .jpeg { jpeg = job.image } else {
                    if encoder == nil { encoder = try JPEGEncoder() }
                    jpeg = try encoder!.encode(pixels, quality: 90)
                }
                record(result.candidates, jpeg, answer, job.finish)
                return nil
            }
            let judge = try job.rules.makeJudge(cameraID: job.camera ?? "api", state: nil)
            Self.fill(&answer, with: judge.judge(result.candidates, frame: FrameStamp(sequence: 0, captureTime: Date())),
                      enqueuedAt: job.enqueuedAt)
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
