import Foundation

/// Turns any frame (`.jpeg`, `.rgb24`, `.gray8`, `.yuyv`, `.nv12`) into a model's letterboxed float input.
///
/// One per inference worker: it owns a JPEG decoder, the decoded-frame scratch and the resampler's tables,
/// all reused frame after frame (they grow only when a larger frame arrives), so steady state does not
/// allocate. Not thread-safe.
public final class FramePreprocessor {
    /// The result of preparing one frame.
    public struct Prepared: Sendable, Equatable {
        /// Letterbox geometry in source-frame pixels: feed `scale`, `padX`, `padY`, `sourceWidth`,
        /// `sourceHeight` to Detection's `SourceMapping`.
        public var geometry: Letterbox
        /// libjpeg-turbo's warning for a damaged but decodable JPEG (truncated frame), else nil.
        public var warning: String?
        /// Size of the picture the letterbox resized from: the JPEG's DCT-scaled size, else the frame's size.
        public var decodedWidth: Int, decodedHeight: Int
        /// Time spent decoding the JPEG (0 for raw frames), milliseconds.
        public var decodeMs: Double = 0
        /// Time spent letterboxing into the model input (with colour conversion), milliseconds.
        public var letterboxMs: Double = 0

        /// Makes a result (other preparations of the model input, e.g. golden-board composition, report the same).
        public init(geometry: Letterbox, warning: String?, decodedWidth: Int, decodedHeight: Int, decodeMs: Double = 0,
                    letterboxMs: Double = 0) {
            self.geometry = geometry; self.warning = warning; self.decodedWidth = decodedWidth
            self.decodedHeight = decodedHeight; self.decodeMs = decodeMs; self.letterboxMs = letterboxMs
        }
    }

    /// Lets libjpeg-turbo shrink a JPEG in the DCT (by 1/2, 1/4 or 1/8, as far as it stays at least as large
    /// as the letterboxed picture) when the frame is at least twice the model input (letterbox scale ≤ 1/2),
    /// and finishes it from the Y, Cb, Cr planes (`PlanarLetterbox`). For 1920×1080 → 640 that is a 1/2
    /// decode (960×540) with no chroma upsampling or colour conversion in libjpeg-turbo. The pixels then
    /// differ from Ultralytics' full decode + `cv2.resize` by a mean of 0.6 grey levels on a camera-like
    /// 1080p board (1.6 on a noisy synthetic scene with one-pixel lines, which the 1/3 bilinear resize aliases
    /// and the DCT's low-pass smooths): not ±1 per pixel, so the letterbox fixture test holds this path to
    /// those means and holds the exact path to ±1. Frames under twice the input always take the exact path
    /// (full decode, OpenCV's bilinear arithmetic, ±1 of Ultralytics): there the saving is small and the
    /// resize closer to 1:1, where the difference would show most. DeepPCB's 640×640 images on a 640 model
    /// are such frames, so `detect`/`eval` parity with Ultralytics is unaffected. `false` = always the exact
    /// path, as Ultralytics does (`inspectd bench decode --no-dct-scaling` measures it).
    public var dctScaling: Bool

    /// Whether a frame with this geometry takes the DCT-scaled path (when `dctScaling` is on).
    public static func usesScaledDecode(_ g: Letterbox) -> Bool { g.scale <= 0.5 }

    private let decoder: JPEGDecoder
    private let resampler = LetterboxResampler()
    private let planar = PlanarLetterbox()
    private var decoded: PixelBuffer

    /// Creates a preprocessor; `expectedPixels` sizes the decode scratch up front (e.g. 1920 × 1080).
    public init(expectedPixels: Int = 640 * 640, dctScaling: Bool = true) throws {
        decoder = try JPEGDecoder()
        decoded = PixelBuffer(capacity: max(1, expectedPixels) * 3)
        self.dctScaling = dctScaling
    }

    /// Writes `pixels` letterboxed to `targetWidth`×`targetHeight` into `input` (3 × targetHeight × targetWidth
    /// floats, CHW, RGB, /255) and returns the geometry for mapping boxes back. Throws `ImagingError` for
    /// a corrupt JPEG, a zero-size or short frame.
    public func prepare(_ pixels: PixelBuffer, targetWidth: Int, targetHeight: Int,
                        into input: UnsafeMutablePointer<Float>) throws -> Prepared {
        switch pixels.format {
        case .jpeg:
            let t0 = DispatchTime.now().uptimeNanoseconds
            let header = try decoder.readHeader(pixels.contents)
            let geometry = try Letterbox(sourceWidth: header.width, sourceHeight: header.height,
                                         targetWidth: targetWidth, targetHeight: targetHeight)
            let scaled = dctScaling && Self.usesScaledDecode(geometry)
            if scaled && header.hasPlanes {
                let size = decoder.scaledSize(width: header.width, height: header.height,
                                              minWidth: geometry.resizedWidth, minHeight: geometry.resizedHeight)
                let need = JPEGPlanes(width: size.width, height: size.height, subsampling: header.subsampling).byteCount
                    + PlanarLetterbox.readSlack
                if decoded.capacity < need { decoded = PixelBuffer(capacity: need) }
                let (planes, warning) = try decoder.decodePlanes(pixels.contents, header: header, width: size.width,
                                                                 height: size.height, into: decoded)
                let t1 = DispatchTime.now().uptimeNanoseconds
                try planar.write(decoded.bytes.assumingMemoryBound(to: UInt8.self), planes: planes,
                                 geometry: geometry, into: input)
                let t2 = DispatchTime.now().uptimeNanoseconds
                return Prepared(geometry: geometry, warning: warning, decodedWidth: size.width,
                                decodedHeight: size.height, decodeMs: Double(t1 - t0) / 1e6,
                                letterboxMs: Double(t2 - t1) / 1e6)
            }
            // The exact path (and RGB or CMYK JPEGs, which have no Y, Cb, Cr planes): packed RGB or gray.
            let need = header.width * header.height * (header.isGray ? 1 : 3)
            if decoded.capacity < need { decoded = PixelBuffer(capacity: need) }
            let outcome = try decoder.decode(pixels.contents, into: decoded, format: header.isGray ? .gray8 : .rgb24,
                                             minWidth: scaled ? geometry.resizedWidth : 0,
                                             minHeight: scaled ? geometry.resizedHeight : 0)
            let t1 = DispatchTime.now().uptimeNanoseconds
            try resampler.write(decoded, geometry: geometry, into: input)
            let t2 = DispatchTime.now().uptimeNanoseconds
            return Prepared(geometry: geometry, warning: outcome.warning, decodedWidth: outcome.width,
                            decodedHeight: outcome.height, decodeMs: Double(t1 - t0) / 1e6,
                            letterboxMs: Double(t2 - t1) / 1e6)
        case .rgb24, .gray8, .yuyv, .nv12:
            let t0 = DispatchTime.now().uptimeNanoseconds
            let geometry = try Letterbox(sourceWidth: pixels.width, sourceHeight: pixels.height,
                                         targetWidth: targetWidth, targetHeight: targetHeight)
            try resampler.write(pixels, geometry: geometry, into: input)
            return Prepared(geometry: geometry, warning: nil, decodedWidth: pixels.width, decodedHeight: pixels.height,
                            letterboxMs: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
    }
}
