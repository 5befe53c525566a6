import Foundation

/// Turns any frame into the 8-bit grayscale (luma) plane that reference inspection works on: `.gray8` as it
/// is (no copy), `.rgb24` with the JFIF / BT.601 weights (Y = 0.299 R + 0.587 G + 0.114 B, libjpeg's
/// fixed-point arithmetic), `.jpeg` decoded straight to luma by libjpeg-turbo (the Y the encoder stored, the
/// same weights), `.yuyv` and `.nv12` through RGB as the single-image path converts them.
///
/// Owns a JPEG decoder and a scratch plane that grows to the largest frame seen, so steady state does not
/// allocate. One per worker; not thread-safe.
public final class LumaConverter {
    private let decoder: JPEGDecoder
    private var scratch: PixelBuffer
    private var row: [UInt8] = []

    /// Creates a converter; `expectedPixels` sizes the scratch up front.
    public init(expectedPixels: Int = 640 * 640) throws {
        decoder = try JPEGDecoder()
        scratch = PixelBuffer(capacity: max(1, expectedPixels))
    }

    /// The luma plane of `pixels`. For `.gray8` it points into `pixels` itself; otherwise into this
    /// converter's scratch, valid until the next call. Throws `ImagingError` for a corrupt or damaged (truncated) JPEG
    /// or a short or zero-size frame.
    public func luma(of pixels: PixelBuffer) throws -> GrayPlane {
        switch pixels.format {
        case .gray8:
            try ColorConversion.validate(pixels)
            return try GrayPlane(pixels)
        case .jpeg:
            let (w, h) = try decoder.header(pixels.contents)
            reserve(w * h)
            // A truncated or damaged JPEG decodes with grey where data is missing: not a picture to judge.
            if let warning = try decoder.decode(pixels.contents, into: scratch, format: .gray8).warning {
                throw ImagingError.damagedJPEG(warning)
            }
            return try GrayPlane(scratch)
        case .rgb24, .yuyv, .nv12:
            try ColorConversion.validate(pixels)
            let w = pixels.width, h = pixels.height
            reserve(w * h)
            let out = scratch.bytes.assumingMemoryBound(to: UInt8.self)
            let src = pixels.bytes.assumingMemoryBound(to: UInt8.self)
            if pixels.format != .rgb24, row.count < 3 * w { row = [UInt8](repeating: 0, count: 3 * w) }
            try row.withUnsafeMutableBufferPointer { rowBuffer in
                for y in 0..<h {
                    let rgb: UnsafePointer<UInt8>
                    if pixels.format == .rgb24 { rgb = UnsafePointer(src + y * w * 3) } else {
                        guard let r = rowBuffer.baseAddress else { throw ImagingError.zeroSize(width: w, height: h) }
                        ColorConversion.rgbRow(pixels, row: y, into: r)
                        rgb = UnsafePointer(r)
                    }
                    let o = out + y * w
                    for x in 0..<w {
                        // libjpeg's rgb_gray: FIX(0.29900), FIX(0.58700), FIX(0.11400) at 16 bits, rounded.
                        let v = 19595 &* UInt32(rgb[3 * x]) &+ 38470 &* UInt32(rgb[3 * x + 1])
                            &+ 7471 &* UInt32(rgb[3 * x + 2]) &+ 32768
                        o[x] = UInt8(truncatingIfNeeded: v >> 16)
                    }
                }
            }
            scratch.width = w; scratch.height = h; scratch.format = .gray8; scratch.byteCount = w * h
            return try GrayPlane(scratch)
        }
    }

    private func reserve(_ bytes: Int) {
        if scratch.capacity < bytes { scratch = PixelBuffer(capacity: bytes) }
    }
}
