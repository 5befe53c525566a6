import Detection
import Engine
import Foundation
import Imaging

/// One worker's inference path for a frame: pixels → letterboxed input → engine → candidates in source pixels.
///
/// The same path serves the daemon's workers, `inspectd detect` and `inspectd eval`, so what `eval` measures is
/// what the line runs. It owns one engine session, one preprocessor and one detection scratch, all allocated at
/// start. Not thread-safe: one per worker.
public final class FrameInspector {
    /// Time spent in each stage of the last `inspect`, milliseconds.
    public struct Timing: Sendable, Equatable {
        public var preprocessMs: Double = 0
        public var inferenceMs: Double = 0
        public var postprocessMs: Double = 0
        /// Sum of the three stages.
        public var totalMs: Double { preprocessMs + inferenceMs + postprocessMs }
    }

    /// What one frame gave.
    public struct Result: Sendable {
        /// Candidates after NMS, ROI and box filters, by descending score (thresholds in force not yet applied).
        public var candidates: [Candidate]
        /// Per-stage time.
        public var timing: Timing
        /// Size of the source frame.
        public var sourceWidth: Int, sourceHeight: Int
    }

    /// The model this worker runs.
    public let model: Model
    /// The stateless post-processing stage.
    public let detector: FrameDetector
    private let session: Session
    private let preprocessor: FramePreprocessor
    private let scratch: DetectionScratch
    private let inputWidth: Int
    private let inputHeight: Int

    /// Creates a worker's path. `threads` is the engine's thread count inside one frame; `expectedPixels`
    /// sizes the decode scratch (e.g. 1920 × 1080) so that steady state does not allocate.
    public init(model: Model, detector: FrameDetector, threads: Int = 1, expectedPixels: Int = 640 * 640) throws {
        let size = try Self.inputSize(of: model.info)
        self.model = model
        self.detector = detector
        session = try model.makeSession(threads: threads)
        preprocessor = try FramePreprocessor(expectedPixels: expectedPixels)
        scratch = detector.makeScratch()
        inputHeight = size.height
        inputWidth = size.width
    }

    /// The picture size the model takes; throws `EngineError` unless its first input is float [1, 3, H, W].
    public static func inputSize(of info: ModelInfo) throws -> (width: Int, height: Int) {
        guard let input = info.inputs.first, input.shape.count == 4, input.shape[0] == 1, input.shape[1] == 3,
              input.shape[2] > 0, input.shape[3] > 0, input.elementType == .float32 else {
            throw EngineError("\(info.path): expected one float input [1,3,H,W], found "
                + (info.inputs.isEmpty ? "no input"
                   : info.inputs.map { "\($0.name) \($0.elementType.rawValue) \($0.shape)" }.joined(separator: ", ")))
        }
        return (input.shape[3], input.shape[2])
    }

    /// Runs one frame, post-processed by `detector` (a camera's own ROI and rules in the daemon) or by the
    /// inspector's detector. Throws `ImagingError` for a frame that cannot be decoded or decodes only with a
    /// warning (truncated or damaged JPEG), `EngineError` or
    /// `OutputError` if the model misbehaves.
    public func inspect(_ pixels: PixelBuffer, detector: FrameDetector? = nil) throws -> Result {
        var timing = Timing()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let input = session.input(0)
        guard let base = input.baseAddress else { throw EngineError("\(model.info.path): model input is not float") }
        let prepared = try preprocessor.prepare(pixels, targetWidth: inputWidth, targetHeight: inputHeight, into: base)
        // A truncated or damaged JPEG decodes with a warning and grey where data is missing: judging it could
        // pass a bad board as OK, so it is a frame error, not an inspection.
        if let warning = prepared.warning { throw ImagingError.damagedJPEG(warning) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        try session.run()
        let t2 = DispatchTime.now().uptimeNanoseconds
        let g = prepared.geometry
        let mapping = SourceMapping(scale: Float(g.scale), padX: g.padX, padY: g.padY,
                                    sourceWidth: g.sourceWidth, sourceHeight: g.sourceHeight)
        let candidates = try (detector ?? self.detector).detect(output: session.output(0).data, mapping: mapping,
                                                                 scratch: scratch)
        let t3 = DispatchTime.now().uptimeNanoseconds
        timing.preprocessMs = Double(t1 - t0) / 1e6
        timing.inferenceMs = Double(t2 - t1) / 1e6
        timing.postprocessMs = Double(t3 - t2) / 1e6
        return Result(candidates: candidates, timing: timing,
                      sourceWidth: g.sourceWidth, sourceHeight: g.sourceHeight)
    }
}
