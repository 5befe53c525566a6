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
    }

    /// Lets libjpeg-turbo shrink large JPEGs by 1/2, 1/4 or 1/8 in the DCT while they stay at least as large
    /// as the letterboxed picture (much faster; differs from a full decode + resize by a little blur).
    public var dctScaling: Bool

    private let decoder: JPEGDecoder
    private let resampler = LetterboxResampler()
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
            let info = try decoder.headerInfo(pixels.contents)
            let geometry = try Letterbox(sourceWidth: info.width, sourceHeight: info.height,
                                         targetWidth: targetWidth, targetHeight: targetHeight)
            let need = info.width * info.height * (info.isGray ? 1 : 3)
            if decoded.capacity < need { decoded = PixelBuffer(capacity: need) }
            let outcome = try decoder.decode(pixels.contents, into: decoded, format: info.isGray ? .gray8 : .rgb24,
                                             minWidth: dctScaling ? geometry.resizedWidth : 0,
                                             minHeight: dctScaling ? geometry.resizedHeight : 0)
            try resampler.write(decoded, geometry: geometry, into: input)
            return Prepared(geometry: geometry, warning: outcome.warning)
        case .rgb24, .gray8, .yuyv, .nv12:
            let geometry = try Letterbox(sourceWidth: pixels.width, sourceHeight: pixels.height,
                                         targetWidth: targetWidth, targetHeight: targetHeight)
            try resampler.write(pixels, geometry: geometry, into: input)
            return Prepared(geometry: geometry, warning: nil)
        }
    }
}
