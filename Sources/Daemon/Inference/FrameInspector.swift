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
        /// How the frame lay against its golden image (golden-board models only).
        public var alignment: RigidTransform?
    }

    /// Why a frame could not be judged against its golden image (`description` is the reason recorded,
    /// `code` a short name for counters: `no_reference`, `size_mismatch` or `AlignmentRefusal.code`).
    public struct ReferenceError: Error, CustomStringConvertible {
        public var description: String
        public var code: String = "size_mismatch"
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
    /// What the model's input holds (from its metadata).
    public let composition: InputComposition
    /// Golden-board models only: an aligner and a composer per golden image (each holds what depends only on
    /// its reference, and its scratch), made at the first frame against it. The reference is kept so that its
    /// identity stays unique while it is a key.
    private var prepared: [ObjectIdentifier: (reference: ReferenceImage, aligner: ReferenceAligner, composer: ReferenceComposer)] = [:]

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
        composition = try InputComposition(model: model.info)
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

    /// Makes this worker's aligner and composer for `reference` now (the daemon calls it at start, so that
    /// the first frame does not pay for it). Throws `ImagingError`/`ReferenceError` for an unusable golden image.
    public func prepare(_ reference: ReferenceImage) throws {
        _ = try tools(for: reference)
    }

    private func tools(for reference: ReferenceImage) throws -> (aligner: ReferenceAligner, composer: ReferenceComposer) {
        let key = ObjectIdentifier(reference)
        if let p = prepared[key] { return (p.aligner, p.composer) }
        // references change only on reload; keep memory bounded (a camera has at most 32 recipes, one default)
        if prepared.count >= 40 { prepared.removeAll() }
        let plane = try GrayPlane(reference.luma)
        let tools = (try ReferenceAligner(reference: plane, settings: reference.settings),
                     try ReferenceComposer(reference: plane, targetWidth: inputWidth, targetHeight: inputHeight))
        prepared[key] = (reference, tools.0, tools.1)
        return tools
    }

    /// Runs one frame, post-processed by `detector` (a camera's own ROI and rules in the daemon) or by the
    /// inspector's detector. A golden-board model needs the frame's `reference`: the frame is aligned to it,
    /// composed with it, and the boxes are mapped back into the frame's pixels. Throws `ImagingError` for a
    /// frame that cannot be decoded or decodes only with a warning (truncated or damaged JPEG),
    /// `ReferenceError` for a frame that cannot be aligned (or no reference),
    /// `EngineError` or `OutputError` if the model misbehaves.
    public func inspect(_ pixels: PixelBuffer, detector: FrameDetector? = nil, reference: ReferenceImage? = nil) throws -> Result {
        var timing = Timing()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let input = session.input(0)
        guard let base = input.baseAddress else { throw EngineError("\(model.info.path): model input is not float") }
        let prepared: FramePreprocessor.Prepared
        var alignment: RigidTransform?
        if composition.needsReference {
            guard let reference else {
                throw ReferenceError(description: "no golden image for this frame: the model compares each frame with one",
                                     code: "no_reference")
            }
            (prepared, alignment) = try compose(pixels, reference: reference, into: base)
        } else {
            prepared = try preprocessor.prepare(pixels, targetWidth: inputWidth, targetHeight: inputHeight, into: base)
        }
        // A truncated or damaged JPEG decodes with a warning and grey where data is missing: judging it could
        // pass a bad board as OK, so it is a frame error, not an inspection.
        if let warning = prepared.warning { throw ImagingError.damagedJPEG(warning) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        try session.run()
        let t2 = DispatchTime.now().uptimeNanoseconds
        let g = prepared.geometry
        let mapping = SourceMapping(scale: Float(g.scale), padX: g.padX, padY: g.padY,
                                    sourceWidth: g.sourceWidth, sourceHeight: g.sourceHeight)
        var candidates = try (detector ?? self.detector).detect(output: session.output(0).data, mapping: mapping,
                                                                 scratch: scratch)
        if let alignment {  // boxes are in the reference's pixels: back into the frame's
            for i in candidates.indices {
                let b = candidates[i].box
                let f = alignment.frameBox(fromReference: Double(b.x1), Double(b.y1), Double(b.x2), Double(b.y2),
                                           frameWidth: g.sourceWidth, frameHeight: g.sourceHeight)
                candidates[i].box = Box(x1: Float(f.x1), y1: Float(f.y1), x2: Float(f.x2), y2: Float(f.y2))
            }
        }
        let t3 = DispatchTime.now().uptimeNanoseconds
        timing.preprocessMs = Double(t1 - t0) / 1e6
        timing.inferenceMs = Double(t2 - t1) / 1e6
        timing.postprocessMs = Double(t3 - t2) / 1e6
        return Result(candidates: candidates, timing: timing,
                      sourceWidth: g.sourceWidth, sourceHeight: g.sourceHeight, alignment: alignment)
    }

    /// Runs the engine and the post-processing once on a blank (letterbox-grey) input, without a frame: what
    /// `check-config` does to prove a golden-board model runs before any golden image is at hand.
    public func inspectBlankInput() throws {
        let input = session.input(0)
        guard let base = input.baseAddress else { throw EngineError("\(model.info.path): model input is not float") }
        base.update(repeating: 114 / 255, count: input.count)
        try session.run()
        let g = try Letterbox(sourceWidth: inputWidth, sourceHeight: inputHeight, targetWidth: inputWidth,
                              targetHeight: inputHeight)
        _ = try detector.detect(output: session.output(0).data,
                                mapping: SourceMapping(scale: Float(g.scale), padX: g.padX, padY: g.padY,
                                                       sourceWidth: g.sourceWidth, sourceHeight: g.sourceHeight),
                                scratch: scratch)
    }

    /// Golden-board input: the frame's luma aligned to the reference, the reference, and their difference.
    private func compose(_ pixels: PixelBuffer, reference: ReferenceImage, into input: UnsafeMutablePointer<Float>) throws
        -> (FramePreprocessor.Prepared, RigidTransform) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let (aligner, composer) = try tools(for: reference)
        let frame = try composer.luma(of: pixels)
        guard frame.width == reference.luma.width, frame.height == reference.luma.height else {
            throw ReferenceError(description: "frame is \(frame.width)×\(frame.height) but the golden image "
                + "\(reference.name) is \(reference.luma.width)×\(reference.luma.height)")
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        switch try aligner.align(frame) {
        case .refused(let why):
            throw ReferenceError(description: "not aligned to the golden image: \(why)", code: why.code)
        case .aligned(let a):
            let composed = try composer.compose(frame: frame, transform: a.transform, into: input,
                                                count: 3 * inputWidth * inputHeight)
            let t2 = DispatchTime.now().uptimeNanoseconds
            return (FramePreprocessor.Prepared(geometry: composed.geometry, warning: nil, decodedWidth: frame.width,
                                               decodedHeight: frame.height, decodeMs: Double(t1 - t0) / 1e6,
                                               letterboxMs: Double(t2 - t1) / 1e6), a.transform)
        }
    }
}
