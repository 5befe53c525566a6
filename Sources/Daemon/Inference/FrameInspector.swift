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
        /// libjpeg-turbo's warning for a damaged but decodable frame.
        public var warning: String?
        /// Size of the source frame.
        public var sourceWidth: Int, sourceHeight: Int
        /// How the frame lay against its golden image (golden-board models only).
        public var alignment: RigidTransform?
    }

    /// Why a frame could not be judged against its golden image (`description` is the reason recorded).
    public struct ReferenceError: Error, CustomStringConvertible {
        public var description: String
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
    // Golden-board models only: the frame's luma, the composer and an aligner per golden image.
    private var luma: LumaExtractor?
    private var frameLuma: PixelBuffer?
    private var composer: ReferenceComposer?
    private var aligners: [ObjectIdentifier: (reference: ReferenceImage, aligner: ReferenceAligner)] = [:]

    /// Creates a worker's path. `threads` is the engine's thread count inside one frame; `expectedPixels`
    /// sizes the decode scratch (e.g. 1920 × 1080) so that steady state does not allocate.
    public init(model: Model, detector: FrameDetector, threads: Int = 1, expectedPixels: Int = 640 * 640) throws {
        guard let input = model.info.inputs.first, input.shape.count == 4, input.shape[1] == 3,
              input.elementType == .float32 else {
            throw EngineError("\(model.info.path): expected one float input [1,3,H,W], found "
                + model.info.inputs.map { "\($0.name) \($0.elementType.rawValue) \($0.shape)" }.joined(separator: ", "))
        }
        self.model = model
        self.detector = detector
        session = try model.makeSession(threads: threads)
        preprocessor = try FramePreprocessor(expectedPixels: expectedPixels)
        scratch = detector.makeScratch()
        inputHeight = input.shape[2]
        inputWidth = input.shape[3]
        composition = try InputComposition(model: model.info)
        if composition.needsReference {
            luma = try LumaExtractor()
            frameLuma = PixelBuffer(capacity: max(1, expectedPixels))
            composer = ReferenceComposer()
        }
    }

    /// Runs one frame, post-processed by `detector` (a camera's own ROI and rules in the daemon) or by the
    /// inspector's detector. A golden-board model needs the frame's `reference`: the frame is aligned to it,
    /// composed with it, and the boxes are mapped back into the frame's pixels. Throws `ImagingError` for a
    /// frame that cannot be decoded, `ReferenceError` for a frame that cannot be aligned (or no reference),
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
                throw ReferenceError(description: "no golden image for this frame: the model compares each frame with one")
            }
            (prepared, alignment) = try compose(pixels, reference: reference, into: base)
        } else {
            prepared = try preprocessor.prepare(pixels, targetWidth: inputWidth, targetHeight: inputHeight, into: base)
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        try session.run()
        let t2 = DispatchTime.now().uptimeNanoseconds
        let g = prepared.geometry
        let mapping = SourceMapping(scale: Float(g.scale), padX: g.padX, padY: g.padY,
                                    sourceWidth: g.sourceWidth, sourceHeight: g.sourceHeight)
        var candidates = try (detector ?? self.detector).detect(output: session.output(0).data, mapping: mapping,
                                                                 scratch: scratch)
        if let alignment, !alignment.isIdentity {
            for i in candidates.indices { candidates[i].box = alignment.frameBox(candidates[i].box, width: g.sourceWidth, height: g.sourceHeight) }
        }
        let t3 = DispatchTime.now().uptimeNanoseconds
        timing.preprocessMs = Double(t1 - t0) / 1e6
        timing.inferenceMs = Double(t2 - t1) / 1e6
        timing.postprocessMs = Double(t3 - t2) / 1e6
        return Result(candidates: candidates, timing: timing, warning: prepared.warning,
                      sourceWidth: g.sourceWidth, sourceHeight: g.sourceHeight, alignment: alignment)
    }

    /// Golden-board input: the frame's luma aligned to the reference, the reference, and their difference.
    private func compose(_ pixels: PixelBuffer, reference: ReferenceImage, into input: UnsafeMutablePointer<Float>) throws
        -> (FramePreprocessor.Prepared, RigidTransform) {
        guard let luma, let composer else { throw EngineError("\(model.info.path): no composer") }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let (frame, warning) = try luma.extract(pixels, into: frameLuma)
        frameLuma = frame
        let ref = reference.luma
        guard frame.width == ref.width, frame.height == ref.height else {
            throw ReferenceError(description: "frame is \(frame.width)×\(frame.height) but the golden image "
                + "\(reference.name) is \(ref.width)×\(ref.height)")
        }
        let key = ObjectIdentifier(reference)
        let aligner: ReferenceAligner
        if let a = aligners[key] { aligner = a.aligner } else {
            if aligners.count >= 8 { aligners.removeAll() }  // references change rarely; keep memory bounded
            aligner = try ReferenceAligner(reference: ref, maxShift: reference.maxShift,
                                           maxRotation: reference.maxRotation, minMatch: reference.minMatch)
            aligners[key] = (reference, aligner)
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let transform: RigidTransform
        do { transform = try aligner.align(frame) } catch {
            throw ReferenceError(description: "not aligned to the golden image: \(error)")
        }
        let geometry = try composer.compose(frame: frame, reference: ref, transform: transform,
                                            targetWidth: inputWidth, targetHeight: inputHeight, into: input)
        let t2 = DispatchTime.now().uptimeNanoseconds
        return (FramePreprocessor.Prepared(geometry: geometry, warning: warning, decodedWidth: frame.width,
                                           decodedHeight: frame.height, decodeMs: Double(t1 - t0) / 1e6,
                                           letterboxMs: Double(t2 - t1) / 1e6), transform)
    }
}
