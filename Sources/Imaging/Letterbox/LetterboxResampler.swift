import Foundation

/// Writes a letterboxed frame straight into a model's float input (CHW planes, RGB order, value/255),
/// resizing with OpenCV's `INTER_LINEAR` arithmetic (11-bit fixed-point weights, half-pixel centres), so the
/// result matches Ultralytics' preprocessing to within ±1 grey level.
///
/// Owns its scratch (coefficient tables, two resized rows, one converted source row), allocated for the
/// largest sizes seen and reused: in steady state it does not allocate. One per worker; not thread-safe.
public final class LetterboxResampler {
    private static let coefBits = 11
    private static let coefScale = Float(1 << 11)

    private var xofs: [Int32] = []
    private var alpha: [Int16] = []
    private var yofs: [Int32] = []
    private var beta: [Int16] = []
    private var rowA: [Int32] = [], rowB: [Int32] = []
    private var rowSource = (-1, -1)
    private var tableKey = (-1, -1, -1, -1, -1)
    private var converted: [UInt8] = []
    private let toFloat: [Float] = (0..<256).map { Float($0) / 255 }

    /// Creates an empty resampler; tables grow on first use.
    public init() {}

    /// Letterboxes `source` (`.rgb24`, `.gray8`, `.yuyv` or `.nv12`, any size) into `input`, which holds
    /// 3 × `geometry.targetHeight` × `geometry.targetWidth` floats. `geometry` gives the padding and the
    /// resized size; `source` may be smaller than `geometry.sourceWidth` × `sourceHeight` (a DCT-scaled JPEG
    /// decode), in which case it is resized from its own size to the same output rectangle.
    public func write(_ source: PixelBuffer, geometry g: Letterbox, into input: UnsafeMutablePointer<Float>) throws {
        try ColorConversion.validate(source)
        let sw = source.width, sh = source.height
        let dw = g.resizedWidth, dh = g.resizedHeight, tw = g.targetWidth, th = g.targetHeight
        guard g.padLeft >= 0, g.padTop >= 0, g.padLeft + dw <= tw, g.padTop + dh <= th else {
            throw ImagingError.tooLarge(width: dw, height: dh, capacity: tw * th)
        }
        let cn = source.format == .gray8 ? 1 : 3
        prepareTables(sw: sw, sh: sh, dw: dw, dh: dh, cn: cn)
        if source.format == .yuyv || source.format == .nv12, converted.count < sw * 3 {
            converted = [UInt8](repeating: 0, count: sw * 3)
        }
        rowSource = (-1, -1)

        let plane = tw * th
        Self.fillPadding(g, into: input)

        let base = source.bytes.assumingMemoryBound(to: UInt8.self)
        if sw == dw && sh == dh && (source.format == .rgb24 || source.format == .gray8) {
            // No resize (OpenCV skips it too): a straight table lookup into the planes.
            copyUnscaled(base, cn: cn, width: dw, height: dh, into: input + g.padTop * tw + g.padLeft, stride: tw, plane: plane)
            return
        }
        xofs.withUnsafeBufferPointer { xo in
            alpha.withUnsafeBufferPointer { al in
                converted.withUnsafeMutableBufferPointer { conv in
                    rowA.withUnsafeMutableBufferPointer { ra in
                        rowB.withUnsafeMutableBufferPointer { rb in
                            var bufs = (ra.baseAddress!, rb.baseAddress!)
                            for dy in 0..<dh {
                                let sy0 = Int(yofs[dy])
                                let y0 = min(max(sy0, 0), sh - 1), y1 = min(max(sy0 + 1, 0), sh - 1)
                                // Reuse resized rows from the previous output row when they are the same.
                                if rowSource.0 != y0 {
                                    if rowSource.1 == y0 {
                                        let t = bufs.0; bufs.0 = bufs.1; bufs.1 = t; rowSource = (y0, rowSource.0)
                                    } else {
                                        horizontal(source, base, y0, cn, conv.baseAddress, xo, al, dw, bufs.0)
                                        rowSource.0 = y0
                                    }
                                }
                                if rowSource.1 != y1 {
                                    horizontal(source, base, y1, cn, conv.baseAddress, xo, al, dw, bufs.1)
                                    rowSource.1 = y1
                                }
                                let b0 = Int32(beta[2 * dy]), b1 = Int32(beta[2 * dy + 1])
                                let out = input + (g.padTop + dy) * tw + g.padLeft
                                vertical(bufs.0, bufs.1, b0, b1, dw, cn, out, plane)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Fills the input outside the letterboxed picture with the pad grey: whole rows above and below, then the
    /// columns beside the picture.
    static func fillPadding(_ g: Letterbox, into input: UnsafeMutablePointer<Float>) {
        let tw = g.targetWidth, th = g.targetHeight, dw = g.resizedWidth, dh = g.resizedHeight
        let padF = Float(Letterbox.padValue) / 255
        for c in 0..<3 {
            let p = input + c * tw * th
            p.update(repeating: padF, count: g.padTop * tw)
            (p + (g.padTop + dh) * tw).update(repeating: padF, count: (th - g.padTop - dh) * tw)
            if dw == tw { continue }
            for y in g.padTop..<(g.padTop + dh) {
                (p + y * tw).update(repeating: padF, count: g.padLeft)
                (p + y * tw + g.padLeft + dw).update(repeating: padF, count: tw - g.padLeft - dw)
            }
        }
    }

    private func copyUnscaled(_ base: UnsafeMutablePointer<UInt8>, cn: Int, width: Int, height: Int,
                              into out: UnsafeMutablePointer<Float>, stride: Int, plane: Int) {
        toFloat.withUnsafeBufferPointer { lut in
            for y in 0..<height {
                let row = base + y * width * cn
                let pr = out + y * stride, pg = pr + plane, pb = pg + plane
                if cn == 1 {
                    // One plane, then two row copies: three interleaved store streams 1.6 MB apart ran up to
                    // four times slower in some processes (address aliasing between the streams).
                    for x in 0..<width { pr[x] = lut[Int(row[x])] }
                    pg.update(from: pr, count: width)
                    pb.update(from: pr, count: width)
                } else {
                    // Four pixels at a time into vector stores: twice as fast as one at a time.
                    var x = 0
                    while x + 4 <= width {
                        let p = row + 3 * x
                        let r = SIMD4<Float>(lut[Int(p[0])], lut[Int(p[3])], lut[Int(p[6])], lut[Int(p[9])])
                        let g = SIMD4<Float>(lut[Int(p[1])], lut[Int(p[4])], lut[Int(p[7])], lut[Int(p[10])])
                        let b = SIMD4<Float>(lut[Int(p[2])], lut[Int(p[5])], lut[Int(p[8])], lut[Int(p[11])])
                        UnsafeMutableRawPointer(pr + x).storeBytes(of: r, as: SIMD4<Float>.self)
                        UnsafeMutableRawPointer(pg + x).storeBytes(of: g, as: SIMD4<Float>.self)
                        UnsafeMutableRawPointer(pb + x).storeBytes(of: b, as: SIMD4<Float>.self)
                        x += 4
                    }
                    while x < width {
                        pr[x] = lut[Int(row[3 * x])]; pg[x] = lut[Int(row[3 * x + 1])]; pb[x] = lut[Int(row[3 * x + 2])]
                        x += 1
                    }
                }
            }
        }
    }

    private func prepareTables(sw: Int, sh: Int, dw: Int, dh: Int, cn: Int) {
        // Frames keep their size: compute the tables once per (source size, output size, channels).
        if tableKey == (sw, sh, dw, dh, cn) { return }
        tableKey = (sw, sh, dw, dh, cn)
        if xofs.count < dw { xofs = [Int32](repeating: 0, count: dw); alpha = [Int16](repeating: 0, count: 2 * dw) }
        if yofs.count < dh { yofs = [Int32](repeating: 0, count: dh); beta = [Int16](repeating: 0, count: 2 * dh) }
        if rowA.count < dw * 3 { rowA = [Int32](repeating: 0, count: dw * 3); rowB = rowA }
        let scaleX = 1.0 / (Double(dw) / Double(sw)), scaleY = 1.0 / (Double(dh) / Double(sh))
        for dx in 0..<dw {
            var fx = Float((Double(dx) + 0.5) * scaleX - 0.5)
            var sx = Int(fx.rounded(.down))
            fx -= Float(sx)
            if sx < 0 { fx = 0; sx = 0 }
            if sx >= sw - 1 { fx = 0; sx = sw - 1 }
            xofs[dx] = Int32(sx * cn)
            alpha[2 * dx] = Int16(((1 - fx) * Self.coefScale).rounded(.toNearestOrEven))
            alpha[2 * dx + 1] = Int16((fx * Self.coefScale).rounded(.toNearestOrEven))
        }
        for dy in 0..<dh {
            var fy = Float((Double(dy) + 0.5) * scaleY - 0.5)
            let sy = Int(fy.rounded(.down))
            fy -= Float(sy)
            yofs[dy] = Int32(sy)
            beta[2 * dy] = Int16(((1 - fy) * Self.coefScale).rounded(.toNearestOrEven))
            beta[2 * dy + 1] = Int16((fy * Self.coefScale).rounded(.toNearestOrEven))
        }
    }

    /// One source row resized horizontally into `dst`: one run of `dw` values per channel, scaled by 2^11.
    @inline(__always)
    private func horizontal(_ source: PixelBuffer, _ base: UnsafeMutablePointer<UInt8>, _ y: Int, _ cn: Int,
                            _ conv: UnsafeMutablePointer<UInt8>?, _ xo: UnsafeBufferPointer<Int32>,
                            _ al: UnsafeBufferPointer<Int16>, _ dw: Int, _ dst: UnsafeMutablePointer<Int32>) {
        let sw = source.width
        let row: UnsafeMutablePointer<UInt8>
        switch source.format {
        case .rgb24: row = base + y * sw * 3
        case .gray8: row = base + y * sw
        default:
            guard let conv else { return }
            ColorConversion.rgbRow(source, row: y, into: conv)
            row = conv
        }
        let last = (sw - 1) * cn
        // Wrapping arithmetic: the values cannot overflow (255 × 2048 × 2), and overflow checks block vectorizing.
        if cn == 3 {
            for dx in 0..<dw {
                let s0 = Int(xo[dx])
                let s1 = s0 + 3 <= last ? s0 + 3 : s0
                let a0 = Int32(al[2 * dx]), a1 = Int32(al[2 * dx + 1])
                dst[dx] = Int32(row[s0]) &* a0 &+ Int32(row[s1]) &* a1
                dst[dw + dx] = Int32(row[s0 + 1]) &* a0 &+ Int32(row[s1 + 1]) &* a1
                dst[2 * dw + dx] = Int32(row[s0 + 2]) &* a0 &+ Int32(row[s1 + 2]) &* a1
            }
        } else {
            for dx in 0..<dw {
                let s0 = Int(xo[dx])
                let s1 = s0 + 1 <= last ? s0 + 1 : s0
                dst[dx] = Int32(row[s0]) &* Int32(al[2 * dx]) &+ Int32(row[s1]) &* Int32(al[2 * dx + 1])
            }
        }
    }

    /// Blends two resized rows (OpenCV's VResizeLinear rounding for 8-bit) and stores value/255 in the
    /// planes, eight pixels at a time.
    @inline(__always)
    private func vertical(_ r0: UnsafeMutablePointer<Int32>, _ r1: UnsafeMutablePointer<Int32>, _ b0: Int32,
                          _ b1: Int32, _ dw: Int, _ cn: Int, _ out: UnsafeMutablePointer<Float>, _ plane: Int) {
        let vb0 = SIMD8<Int32>(repeating: b0), vb1 = SIMD8<Int32>(repeating: b1)
        let two = SIMD8<Int32>(repeating: 2), lo = SIMD8<Int32>(repeating: 0), hi = SIMD8<Int32>(repeating: 255)
        let scale = SIMD8<Float>(repeating: 255)
        for c in 0..<cn {
            let a = UnsafeRawPointer(r0 + c * dw), b = UnsafeRawPointer(r1 + c * dw)
            let o = out + c * plane
            var x = 0
            while x + 8 <= dw {
                let s0 = a.loadUnaligned(fromByteOffset: x * 4, as: SIMD8<Int32>.self)
                let s1 = b.loadUnaligned(fromByteOffset: x * 4, as: SIMD8<Int32>.self)
                var v = ((vb0 &* (s0 &>> 4)) &>> 16) &+ ((vb1 &* (s1 &>> 4)) &>> 16)
                v = (v &+ two) &>> 2
                // Not clamped() (calls out of line) nor scalar operands (a lane-by-lane loop): vector selects.
                v.replace(with: lo, where: v .< lo)
                v.replace(with: hi, where: v .> hi)
                let f = SIMD8<Float>(v) / scale
                UnsafeMutableRawPointer(o + x).storeBytes(of: f, as: SIMD8<Float>.self)
                if cn == 1 {
                    UnsafeMutableRawPointer(o + plane + x).storeBytes(of: f, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(o + 2 * plane + x).storeBytes(of: f, as: SIMD8<Float>.self)
                }
                x += 8
            }
            while x < dw {
                let f = Float(Self.blend(a.load(fromByteOffset: x * 4, as: Int32.self),
                                         b.load(fromByteOffset: x * 4, as: Int32.self), b0, b1)) / 255
                o[x] = f
                if cn == 1 { o[plane + x] = f; o[2 * plane + x] = f }
                x += 1
            }
        }
    }

    @inline(__always)
    private static func blend(_ s0: Int32, _ s1: Int32, _ b0: Int32, _ b1: Int32) -> Int {
        let t0: Int32 = (b0 &* (s0 &>> 4)) &>> 16
        let t1: Int32 = (b1 &* (s1 &>> 4)) &>> 16
        let v = (t0 &+ t1 &+ 2) &>> 2
        return Int(v < 0 ? 0 : (v > 255 ? 255 : v))
    }
}
