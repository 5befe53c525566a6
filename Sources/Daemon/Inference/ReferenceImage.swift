import Foundation
import Imaging

/// A product's golden (known-good) image, ready for golden-board inspection: its luma plane, decoded once,
/// and how far a frame may lie off it. Shared read-only by every worker; each worker keeps its own aligner
/// for it (`FrameInspector`).
public final class ReferenceImage: @unchecked Sendable {
    // @unchecked: `luma` is written once here and only read afterwards.
    /// Where it came from (a file path, or the synthetic camera's board), for messages.
    public let name: String
    /// The luma plane (`.gray8`).
    public let luma: PixelBuffer
    /// Largest shift accepted, pixels.
    public let maxShift: Double
    /// Largest rotation accepted, degrees.
    public let maxRotation: Double
    /// Lowest match score accepted as the same product, 0…1.
    public let minMatch: Double

    /// Reads the golden image at `path` (JPEG or PNG). Throws `ImagingError` naming the file when it cannot be
    /// read or decoded.
    public convenience init(path: String, maxShift: Double = 20, maxRotation: Double = 2, minMatch: Double = 0.5) throws {
        let pixels = try ImageFileReader().read(path: path)
        let luma: PixelBuffer
        do { luma = try LumaExtractor().extract(pixels, into: nil).luma } catch {
            throw ImagingError.unreadableFile(path: path, reason: "\(error)")
        }
        try self.init(name: path, luma: luma, maxShift: maxShift, maxRotation: maxRotation, minMatch: minMatch)
    }

    /// A golden image already in memory (the synthetic camera's board); `image` may be any pixel format.
    /// Throws `ImagingError` when it cannot be decoded.
    public init(name: String, luma image: PixelBuffer, maxShift: Double = 20, maxRotation: Double = 2,
                minMatch: Double = 0.5) throws {
        self.name = name
        if image.format == .gray8 {
            let copy = PixelBuffer(capacity: max(1, image.byteCount))
            copy.bytes.copyMemory(from: image.bytes, byteCount: image.byteCount)
            copy.width = image.width; copy.height = image.height; copy.format = .gray8; copy.byteCount = image.byteCount
            luma = copy
        } else {
            luma = try LumaExtractor().extract(image, into: nil).luma
        }
        self.maxShift = maxShift; self.maxRotation = maxRotation; self.minMatch = minMatch
    }
}
