import Capture
import Detection
import Engine
import Foundation
import Imaging
import Logging
import Threading

/// One inference worker: a thread owning a `FrameInspector` (engine session, preprocessor, detection scratch)
/// and a JPEG encoder, all allocated when the worker is made. It takes frames from any camera's queue, runs
/// them through the inspector with that camera's detector, and hands the result to the camera's lane, which
/// judges frames in order; in turn with the cameras it inspects the images sent to the HTTP API.
final class InferenceWorker: @unchecked Sendable {
    // @unchecked: `inspector` and `encoder` are used only by this worker's thread.
    private let index: Int
    private let inspector: FrameInspector
    private let encoder: JPEGEncoder
    private let queues: FrameQueues
    private let lanes: @Sendable (String) -> CameraLane?
    private let snapshots: Bool
    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private let logger: Logger
    private let thread: LoopThread

    init(index: Int, model: Model, detector: FrameDetector, threads: Int, queues: FrameQueues,
         lanes: @escaping @Sendable (String) -> CameraLane?, snapshots: Bool, expectedPixels: Int,
         metrics: PipelineMetrics, health: PipelineHealth, logger: Logger) throws {
        self.index = index; self.queues = queues; self.lanes = lanes; self.snapshots = snapshots
        self.metrics = metrics; self.health = health; self.logger = logger
        thread = LoopThread(name: "worker-\(index)")
        do {
            inspector = try FrameInspector(model: model, detector: detector, threads: threads,
                                           expectedPixels: expectedPixels)
        } catch {
            throw DaemonError("model.path: \(error)")
        }
        encoder = try JPEGEncoder()
    }

    /// Runs one inference on a plain grey frame of the model's input size, so a model that loads but cannot
    /// run is found before the worker replaces a running one (reload). Throws what the inference throws.
    func warmUp() throws {
        let shape = inspector.model.info.inputs.first?.shape ?? []
        let (height, width) = shape.count == 4 ? (max(1, shape[2]), max(1, shape[3])) : (640, 640)
        let pixels = PixelBuffer(capacity: width * height * 3)
        memset(pixels.bytes, 114, pixels.capacity)
        pixels.width = width; pixels.height = height; pixels.format = .rgb24; pixels.byteCount = pixels.capacity
        do {
            // A golden-board model has no golden image here: it runs on a blank composed input instead.
            if inspector.composition.needsReference { try inspector.inspectBlankInput() } else { _ = try inspector.inspect(pixels) }
        } catch {
            throw DaemonError("model.path: \(inspector.model.info.path) does not run: \(error)")
        }
    }

    /// Starts the worker thread.
    func start() { thread.start { [self] in run() } }

    /// Asks the worker to leave after its current frame (the pool is being rebuilt), and waits.
    func stop() {
        thread.requestStop()
        queues.interrupt()
        thread.join()
    }

    /// Waits until `deadline` for the worker to finish once the queues are closed; false when it has not.
    func join(until deadline: Date) -> Bool { thread.join(until: deadline) }

    private func run() {
        let thread = self.thread
        while let work = queues.pop(shouldStop: { thread.isStopping }) {
            switch work {
            case .frame(let job): process(job)
            case .request(let request): request.run(inspector: inspector, encoder: encoder, logger: logger)
            }
        }
    }

    private func process(_ job: FrameQueues.Job) {
        let frame = job.frame
        // A camera removed (or restarted with a new source) by a reload: its old frames are not judged.
        guard let lane = lanes(frame.cameraID), lane.queueGeneration == job.generation else {
            health.frameFinished(); return
        }
        let started = PipelineHealth.monotonicNanos()
        metrics.record(.queue, nanoseconds: started &- job.enqueuedAt)
        metrics.camera(frame.cameraID).queueDepth.record(queues.depth(frame.cameraID))
        let result: CameraLane.WorkResult
        // The frame's pixels outlive the capture buffer as the camera's latest frame (HTTP API): copied now, once.
        let view = lane.live.copy(frame.pixels, camera: frame.cameraID)
        do {
            let reference = try lane.reference(recipe: job.trigger?.part.recipe)
            let r = try inspector.inspect(frame.pixels, detector: lane.detector, reference: reference)
            metrics.record(.preprocess, nanoseconds: UInt64(r.timing.preprocessMs * 1e6))
            metrics.record(.inference, nanoseconds: UInt64(r.timing.inferenceMs * 1e6))
            var jpeg: Data?
            if snapshots && !r.candidates.isEmpty {  // only frames that may be NG need evidence
                jpeg = frame.pixels.format == .jpeg ? Data(frame.pixels.contents) : try? encoder.encode(frame.pixels)
            }
            let postprocessStart = PipelineHealth.monotonicNanos() &- UInt64(r.timing.postprocessMs * 1e6)
            result = .judged(.init(candidates: r.candidates,
                                   stamp: FrameStamp(sequence: frame.sequence, captureTime: frame.wallClock,
                                                     monotonicNanos: frame.monotonicNanos),
                                   jpeg: jpeg, postprocessStart: postprocessStart, groundTruth: frame.groundTruth,
                                   view: view, trigger: job.trigger))
            if view.format == .jpeg && view.width == 0 { view.width = r.sourceWidth; view.height = r.sourceHeight }
        } catch {
            let code: String
            if let refused = error as? FrameInspector.ReferenceError {
                code = refused.code
            } else {
                let failure = FrameFailure(error)
                if failure != .inference { metrics.camera(frame.cameraID).decodeErrors.increment() }
                code = failure.rawValue
            }
            result = .failed(stamp: FrameStamp(sequence: frame.sequence, captureTime: frame.wallClock,
                                               monotonicNanos: frame.monotonicNanos),
                             code: code, reason: "\(code): \(error)", view: view, trigger: job.trigger)
        }
        frame.release()  // after the last read of its pixels: the source may refill the buffer now
        lane.complete(ticket: job.ticket, result)
    }
}
