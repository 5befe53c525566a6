import CPNG
import Foundation

/// Encodes `.rgb24` and `.gray8` pixel buffers as PNG with libpng's simplified write API (lossless, so the
/// one-pixel box outlines of `inspectd eval --report`'s gallery stay crisp, which JPEG would smear).
public enum PNGEncoder {
    /// The PNG file of `pixels`. Throws `ImagingError.unsupportedFormat` for other layouts,
    /// `.zeroSize` / `.shortData` for a buffer that does not hold its image, `.corruptPNG` if libpng fails.
    public static func encode(_ pixels: PixelBuffer) throws -> Data {
        let channels: Int, format: UInt32
        switch pixels.format {
        case .rgb24: channels = 3; format = CPNG_FORMAT_RGB
        case .gray8: channels = 1; format = CPNG_FORMAT_GRAY
        default: throw ImagingError.unsupportedFormat("PNG is written from rgb24 or gray8, not \(pixels.format.rawValue)")
        }
        let w = pixels.width, h = pixels.height
        guard w > 0, h > 0 else { throw ImagingError.zeroSize(width: w, height: h) }
        guard pixels.byteCount >= w * h * channels else {
            throw ImagingError.shortData(expected: w * h * channels, got: pixels.byteCount)
        }
        var image = png_image()
        cpng_prepare_write(&image, png_uint_32(w), png_uint_32(h), format)
        defer { png_image_free(&image) }
        let stride = png_int_32(w * channels)
        // First pass sizes the output, second writes it (libpng's png_image_write_get_memory_size).
        var size: png_alloc_size_t = 0
        guard png_image_write_to_memory(&image, nil, &size, 0, pixels.bytes, stride, nil) != 0, size > 0 else {
            throw ImagingError.corruptPNG(message(&image))
        }
        var out = Data(count: Int(size))
        let ok = out.withUnsafeMutableBytes { raw in
            png_image_write_to_memory(&image, raw.baseAddress, &size, 0, pixels.bytes, stride, nil)
        }
        guard ok != 0 else { throw ImagingError.corruptPNG(message(&image)) }
        out.count = Int(size)
        return out
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.prefix { $0 != 0 }
            return chars.isEmpty ? "libpng could not write the image" : String(decoding: chars, as: UTF8.self)
        }
    }
}
