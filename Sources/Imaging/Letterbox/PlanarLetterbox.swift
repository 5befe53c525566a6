import Foundation

/// Letterboxes a JPEG decoded to its Y, Cb, Cr planes (`JPEGDecoder.decodePlanes`, DCT-scaled) into the model's
/// float input in one pass: each plane is resized bilinearly from its own size straight to the letterboxed
/// rectangle, which also upsamples the subsampled chroma (JPEG's centred chroma siting), and the JFIF
/// YCbCr → RGB equations and the /255 are applied to the output pixels only. libjpeg-turbo thus skips chroma
/// upsampling and colour conversion of the decoded frame, and nothing but the model input is written.
///
/// This is the fast path for frames much larger than the model input (see `FramePreprocessor`); its pixels
/// are not Ultralytics' (full decode → RGB → `cv2.resize`) to ±1 — the DCT scaling alone already moves them —
/// so it is held to a small mean difference instead. Float arithmetic, 8 pixels at a time where the data is
/// contiguous.
///
/// Tap tables are kept for the last (plane size, output size) and reused while frames keep their size, as
/// are the six row buffers: in steady state nothing is allocated. One per worker; not thread-safe.
final class PlanarLetterbox {
    /// Bilinear taps along one axis: output i blends source samples `i0[i]` and `i0[i] + 1` with weights
    /// `1 − w1[i]` and `w1[i]`. `i0` stays below the last sample (the right/bottom edge is `i0 = n − 2, w1 = 1`),
    /// so the pair is always two real samples, except for a one-sample axis (`i0 = 0, w1 = 0`, whose second
    /// sample is read but weighs nothing).
    private final class Taps {
        private(set) var i0 = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        private(set) var w1 = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private var capacity = 1
        private var key = (source: -1, output: -1, scale: -1.0)

        deinit { i0.deallocate(); w1.deallocate() }

        /// Output `i` samples the source at `(i + 0.5) × scale − 0.5` (half-pixel centres, as OpenCV), clamped
        /// to the `source` samples that exist.
        func update(source: Int, output: Int, scale: Double) {
            if key == (source, output, scale) { return }
            if capacity < output {
                i0.deallocate(); w1.deallocate()
                i0 = .allocate(capacity: output); w1 = .allocate(capacity: output)
                capacity = output
            }
            for i in 0..<output {
                let f = (Double(i) + 0.5) * scale - 0.5
                var s = Int(f.rounded(.down)), t = f - Double(s)
                if s < 0 { s = 0; t = 0 }
                if s >= source - 1 { (s, t) = source >= 2 ? (source - 2, 1) : (0, 0) }
                i0[i] = Int32(s); w1[i] = Float(t)
            }
            key = (source, output, scale)
        }
    }

    /// Two horizontally resized source rows (the pair the current output row blends), with their row numbers.
    private struct RowPair {
        var a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>
        var rows = (-1, -1)
    }

    /// Bytes that may be read past the end of the planes.
    static let readSlack = 64

    private let lumaX = Taps(), lumaY = Taps(), chromaX = Taps(), chromaY = Taps()
    private var rowCapacity = 0
    private var rowMemory = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    deinit { rowMemory.deallocate() }

    // JFIF (full-range BT.601) YCbCr → RGB, as libjpeg's jdcolor.c, with the /255 of the model input folded in.
    private static let k: Float = 1 / 255
    private static let crToR: Float = 1.402 / 255, cbToG: Float = -0.344136 / 255
    private static let crToG: Float = -0.714136 / 255, cbToB: Float = 1.772 / 255

    /// Writes the planes at `planeBytes` (layout `planes`) letterboxed per `g` into `input` (3 ×
    /// `g.targetHeight` × `g.targetWidth` floats, CHW, RGB, /255). The memory must extend `readSlack` bytes
    /// past the planes: a one-sample-wide plane has its (zero-weight) second sample read there.
    func write(_ planeBytes: UnsafePointer<UInt8>, planes p: JPEGPlanes, geometry g: Letterbox,
               into input: UnsafeMutablePointer<Float>) throws {
        let dw = g.resizedWidth, dh = g.resizedHeight, tw = g.targetWidth, th = g.targetHeight
        guard g.padLeft >= 0, g.padTop >= 0, g.padLeft + dw <= tw, g.padTop + dh <= th, p.width > 0, p.height > 0 else {
            throw ImagingError.tooLarge(width: dw, height: dh, capacity: tw * th)
        }
        LetterboxResampler.fillPadding(g, into: input)
        lumaX.update(source: p.width, output: dw, scale: Double(p.width) / Double(dw))
        lumaY.update(source: p.height, output: dh, scale: Double(p.height) / Double(dh))
        if !p.isGray {
            // Chroma sample j sits at luma (j + 0.5) × step − 0.5: map through the luma scale, not the plane size.
            chromaX.update(source: p.chromaWidth, output: dw, scale: Double(p.width) / Double(dw * p.chromaStepX))
            chromaY.update(source: p.chromaHeight, output: dh, scale: Double(p.height) / Double(dh * p.chromaStepY))
        }
        if rowCapacity < 6 * dw {
            rowMemory.deallocate()
            rowMemory = .allocate(capacity: 6 * dw)
            rowCapacity = 6 * dw
        }
        var y = RowPair(a: rowMemory, b: rowMemory + dw)
        var cb = RowPair(a: rowMemory + 2 * dw, b: rowMemory + 3 * dw)
        var cr = RowPair(a: rowMemory + 4 * dw, b: rowMemory + 5 * dw)
        let lumaPlane = planeBytes, cbPlane = planeBytes + p.cbOffset, crPlane = planeBytes + p.crOffset
        let plane = tw * th
        for dy in 0..<dh {
            let ly0 = Int(lumaY.i0[dy]), ly1 = min(ly0 + 1, p.height - 1), wy = (1 - lumaY.w1[dy], lumaY.w1[dy])
            Self.load(&y, ly0, ly1) { row, out in Self.horizontal(lumaPlane + row * p.lumaStride, self.lumaX, dw, out) }
            let out = input + (g.padTop + dy) * tw + g.padLeft
            if p.isGray {
                Self.storeGray(y, wy.0, wy.1, dw, out, plane)
                continue
            }
            let cy0 = Int(chromaY.i0[dy]), cy1 = min(cy0 + 1, p.chromaHeight - 1)
            let cw = p.chromaWidth
            Self.load(&cb, cy0, cy1) { row, out in Self.horizontal(cbPlane + row * cw, self.chromaX, dw, out) }
            Self.load(&cr, cy0, cy1) { row, out in Self.horizontal(crPlane + row * cw, self.chromaX, dw, out) }
            Self.storeColour(y, cb, cr, wy, (1 - chromaY.w1[dy], chromaY.w1[dy]), dw, out, plane)
        }
    }

    /// Makes `pair` hold source rows `r0` and `r1`, resizing only rows it does not already have (consecutive
    /// output rows mostly share them).
    @inline(__always)
    private static func load(_ pair: inout RowPair, _ r0: Int, _ r1: Int,
                             _ resize: (Int, UnsafeMutablePointer<Float>) -> Void) {
        if pair.rows.0 != r0 {
            if pair.rows.1 == r0 {
                swap(&pair.a, &pair.b); pair.rows = (r0, pair.rows.0)
            } else {
                resize(r0, pair.a); pair.rows.0 = r0
            }
        }
        if pair.rows.1 != r1 { resize(r1, pair.b); pair.rows.1 = r1 }
    }

    /// One source row resized to `n` output columns. The gathers are scalar (Swift has no vector gather), the
    /// byte → float conversion is a table lookup (cheaper than int → float conversions) and the blend is done
    /// four columns at a time.
    @inline(__always)
    private static func horizontal(_ row: UnsafePointer<UInt8>, _ t: Taps, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        let i0 = t.i0, w1 = t.w1, f = byteToFloat
        var x = 0
        while x + 4 <= n {
            let s0 = Int(i0[x]), s1 = Int(i0[x + 1]), s2 = Int(i0[x + 2]), s3 = Int(i0[x + 3])
            let a = SIMD4<Float>(f[Int(row[s0])], f[Int(row[s1])], f[Int(row[s2])], f[Int(row[s3])])
            let b = SIMD4<Float>(f[Int(row[s0 + 1])], f[Int(row[s1 + 1])], f[Int(row[s2 + 1])], f[Int(row[s3 + 1])])
            let w = UnsafeRawPointer(w1 + x).loadUnaligned(as: SIMD4<Float>.self)
            UnsafeMutableRawPointer(out + x).storeBytes(of: a + w * (b - a), as: SIMD4<Float>.self)
            x += 4
        }
        while x < n {
            let s = Int(i0[x]), a = f[Int(row[s])]
            out[x] = a + w1[x] * (f[Int(row[s + 1])] - a)
            x += 1
        }
    }

    /// 0…255 as floats, for `horizontal`.
    nonisolated(unsafe) private static let byteToFloat: UnsafeMutablePointer<Float> = {  // read-only once made
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 256)
        for i in 0..<256 { t[i] = Float(i) }
        return t
    }()

    /// Clamps to [0, 1] with vector compare-and-select (`clamped(lowerBound:upperBound:)` calls the stdlib's
    /// generic pointwiseMin/Max out of line, and scalar operands can turn into a lane-by-lane loop).
    @inline(__always)
    private static func clamp01(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let zero = SIMD8<Float>(repeating: 0), one = SIMD8<Float>(repeating: 1)
        var r = v
        r.replace(with: zero, where: v .< zero)
        r.replace(with: one, where: v .> one)
        return r
    }

    @inline(__always)
    private static func storeGray(_ y: RowPair, _ wy0: Float, _ wy1: Float, _ n: Int,
                                  _ out: UnsafeMutablePointer<Float>, _ plane: Int) {
        let a0 = SIMD8<Float>(repeating: wy0 * k), a1 = SIMD8<Float>(repeating: wy1 * k)
        let ya = UnsafeRawPointer(y.a), yb = UnsafeRawPointer(y.b)
        var x = 0
        while x + 8 <= n {
            var v = ya.loadUnaligned(fromByteOffset: 4 * x, as: SIMD8<Float>.self) * a0
                + yb.loadUnaligned(fromByteOffset: 4 * x, as: SIMD8<Float>.self) * a1
            v = clamp01(v)
            for c in 0..<3 { UnsafeMutableRawPointer(out + c * plane + x).storeBytes(of: v, as: SIMD8<Float>.self) }
            x += 8
        }
        while x < n {
            let v = min(max((y.a[x] * wy0 + y.b[x] * wy1) * k, 0), 1)
            out[x] = v; out[plane + x] = v; out[2 * plane + x] = v
            x += 1
        }
    }

    @inline(__always)
    private static func storeColour(_ y: RowPair, _ cb: RowPair, _ cr: RowPair, _ wy: (Float, Float),
                                    _ wc: (Float, Float), _ n: Int, _ out: UnsafeMutablePointer<Float>, _ plane: Int) {
        let y0 = SIMD8<Float>(repeating: wy.0), y1 = SIMD8<Float>(repeating: wy.1)
        let c0 = SIMD8<Float>(repeating: wc.0), c1 = SIMD8<Float>(repeating: wc.1)
        let half = SIMD8<Float>(repeating: 128), kk = SIMD8<Float>(repeating: k)
        let ya = UnsafeRawPointer(y.a), yb = UnsafeRawPointer(y.b)
        let ba = UnsafeRawPointer(cb.a), bb = UnsafeRawPointer(cb.b)
        let ra = UnsafeRawPointer(cr.a), rb = UnsafeRawPointer(cr.b)
        let pr = out, pg = out + plane, pb = out + 2 * plane
        var x = 0
        while x + 8 <= n {
            let o = 4 * x
            let l = (ya.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * y0
                     + yb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * y1) * kk
            let u = ba.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * c0
                + bb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * c1 - half
            let v = ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * c0
                + rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * c1 - half
            let r = clamp01(l + v * crToR)
            let gg = clamp01(l + u * cbToG + v * crToG)
            let b = clamp01(l + u * cbToB)
            UnsafeMutableRawPointer(pr + x).storeBytes(of: r, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(pg + x).storeBytes(of: gg, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(pb + x).storeBytes(of: b, as: SIMD8<Float>.self)
            x += 8
        }
        while x < n {
            let l = (y.a[x] * wy.0 + y.b[x] * wy.1) * k
            let u = cb.a[x] * wc.0 + cb.b[x] * wc.1 - 128, v = cr.a[x] * wc.0 + cr.b[x] * wc.1 - 128
            pr[x] = min(max(l + v * crToR, 0), 1)
            pg[x] = min(max(l + u * cbToG + v * crToG, 0), 1)
            pb[x] = min(max(l + u * cbToB, 0), 1)
            x += 1
        }
    }
}
