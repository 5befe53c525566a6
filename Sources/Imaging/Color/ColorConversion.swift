import Foundation

/// Camera pixel layouts to RGB, one row at a time so the letterbox can convert only the rows it samples.
/// YUV uses BT.601 limited range with OpenCV's fixed-point coefficients (COLOR_YUV2RGB_YUYV / _NV12).
public enum ColorConversion {
    private static let shift = 20
    private static let half = 1 << 19
    private static let cy = 1220542, cub = 2116026, cug = -409993, cvg = -852492, cvr = 1673527

    @inline(__always)
    private static func clamp(_ v: Int) -> UInt8 { UInt8(truncatingIfNeeded: v < 0 ? 0 : (v > 255 ? 255 : v)) }

    @inline(__always)
    private static func put(_ y: Int, _ ruv: Int, _ guv: Int, _ buv: Int, _ out: UnsafeMutablePointer<UInt8>) {
        let yy = max(0, y - 16) * cy
        out[0] = clamp((yy + ruv) >> shift)
        out[1] = clamp((yy + guv) >> shift)
        out[2] = clamp((yy + buv) >> shift)
    }

    /// Converts row `y` of a `.yuyv`, `.nv12`, `.gray8` or `.rgb24` buffer to packed RGB in `out`
    /// (3 × width bytes). The caller checks the buffer's size once (`validate`).
    public static func rgbRow(_ src: PixelBuffer, row y: Int, into out: UnsafeMutablePointer<UInt8>) {
        let w = src.width
        let base = src.bytes.assumingMemoryBound(to: UInt8.self)
        switch src.format {
        case .rgb24:
            out.update(from: base + y * w * 3, count: w * 3)
        case .gray8:
            let row = base + y * w
            for x in 0..<w { let v = row[x]; out[3 * x] = v; out[3 * x + 1] = v; out[3 * x + 2] = v }
        case .yuyv:
            let row = base + y * w * 2
            var x = 0
            while x < w {
                let p = row + x * 2
                let u = Int(p[1]) - 128, v = (x + 1 < w ? Int(p[3]) : 128) - 128
                let ruv = half + cvr * v, guv = half + cvg * v + cug * u, buv = half + cub * u
                put(Int(p[0]), ruv, guv, buv, out + 3 * x)
                if x + 1 < w { put(Int(p[2]), ruv, guv, buv, out + 3 * (x + 1)) }
                x += 2
            }
        case .nv12:
            let yRow = base + y * w
            let uvRow = base + w * src.height + (y / 2) * 2 * ((w + 1) / 2)
            var x = 0
            while x < w {
                let u = Int(uvRow[x & ~1]) - 128, v = Int(uvRow[(x & ~1) + 1]) - 128
                let ruv = half + cvr * v, guv = half + cvg * v + cug * u, buv = half + cub * u
                put(Int(yRow[x]), ruv, guv, buv, out + 3 * x)
                if x + 1 < w { put(Int(yRow[x + 1]), ruv, guv, buv, out + 3 * (x + 1)) }
                x += 2
            }
        case .jpeg:
            break
        }
    }

    /// Checks that a raw (non-JPEG) buffer has a size and enough bytes for its layout.
    public static func validate(_ src: PixelBuffer) throws {
        guard src.width > 0, src.height > 0 else { throw ImagingError.zeroSize(width: src.width, height: src.height) }
        guard let need = src.format.byteCount(width: src.width, height: src.height) else {
            throw ImagingError.unsupportedFormat("\(src.format.rawValue) is compressed; decode it first")
        }
        guard src.byteCount >= need else { throw ImagingError.shortData(expected: need, got: src.byteCount) }
    }

    /// Converts a whole raw frame to `.rgb24` in `output` (for snapshots; the inference path converts rows).
    public static func toRGB(_ src: PixelBuffer, into output: PixelBuffer) throws {
        try validate(src)
        let need = src.width * src.height * 3
        guard output.capacity >= need else {
            throw ImagingError.tooLarge(width: src.width, height: src.height, capacity: output.capacity)
        }
        let out = output.bytes.assumingMemoryBound(to: UInt8.self)
        for y in 0..<src.height { rgbRow(src, row: y, into: out + y * src.width * 3) }
        output.width = src.width; output.height = src.height; output.format = .rgb24; output.byteCount = need
    }
}
