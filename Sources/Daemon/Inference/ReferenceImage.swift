import Foundation
import Imaging

/// A product's golden (known-good) image, ready for golden-board inspection: its luma plane, decoded once,
/// and how far a frame may lie off it. Shared read-only by every worker; each worker keeps its own aligner and
/// composer for it (`FrameInspector`).
public final class ReferenceImage: @unchecked Sendable {
    // @unchecked: `luma` is written once here and only read afterwards.
    /// Where it came from (a file path, or the synthetic camera's board), for messages.
    public let name: String
    /// The luma plane (`.gray8`).
    public let luma: PixelBuffer
    /// The limits a frame is judged by (`cameras[].reference.align`).
    public let settings: AlignmentSettings

    /// Reads the golden image at `path` (JPEG or PNG). Throws `ImagingError` naming the file when it cannot be
    /// read or decoded, `ReferenceError` when it cannot be aligned on (see `init(name:image:settings:)`).
    public convenience init(path: String, settings: AlignmentSettings = AlignmentSettings()) throws {
        let pixels = try ImageFileReader().read(path: path)
        do { try self.init(name: path, image: pixels, settings: settings) } catch let e as ReferenceError { throw e } catch {
            throw ImagingError.unreadableFile(path: path, reason: "\(error)")
        }
    }

    /// A golden image already in memory (the synthetic camera's board), in any pixel format; copied. Throws
    /// `ImagingError` when it cannot be decoded, and `ReferenceError` when frames cannot be aligned to it (a
    /// blank or near-uniform picture, one under 64×64, settings out of range): refused when the config is
    /// loaded, by `check-config`, at start and on reload, rather than every frame becoming an ERROR later.
    public init(name: String, image: PixelBuffer, settings: AlignmentSettings = AlignmentSettings()) throws {
        // The plane points into the converter's scratch (or into `image`): both stay alive until it is copied.
        let converter = try LumaConverter(expectedPixels: max(1, image.width * image.height))
        let plane = try converter.luma(of: image)
        let copy = PixelBuffer(capacity: plane.width * plane.height)
        let out = copy.bytes.assumingMemoryBound(to: UInt8.self)
        withExtendedLifetime((converter, image)) {
            for y in 0..<plane.height { (out + y * plane.width).update(from: plane.base + y * plane.stride, count: plane.width) }
        }
        copy.width = plane.width; copy.height = plane.height; copy.format = .gray8
        copy.byteCount = plane.width * plane.height
        self.name = name; luma = copy; self.settings = settings
        _ = try ReferenceAligner(reference: try GrayPlane(copy), settings: settings)
    }
}
