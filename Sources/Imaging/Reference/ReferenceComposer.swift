import Foundation

/// Writes the three-channel model input of reference inspection: channel 0 the frame's luma aligned to the
/// reference, channel 1 the reference, channel 2 |channel 0 − channel 1|, each /255, CHW floats, letterboxed
/// like the single-image input (`Letterbox`: same geometry, pad grey 114 in all three channels, as
/// Ultralytics pads a three-channel picture).
///
/// The frame is not resampled when the motion is negligible: when copying it shifted by whole pixels leaves
/// no pixel further than `copyTolerance` (default 0.4 px) from where the motion puts it. For 640×640 that is
/// about "under 0.25 px of shift and 0.02° of rotation" (0.02° moves a corner 0.16 px). Then the frame is
/// copied, so the model sees the same crisp pixels as in training (DeepPCB pairs were composed as given,
/// never warped). Note that DeepPCB's own pairs are not that close: their rotations run from −0.09° to
/// +0.01°, so at 0.4 px only 5 of the 100 val pairs are copied (at 0.75 px 47, at 1 px 83); which
/// tolerance serves the model best is for `eval` to tell. Otherwise the frame is warped into the
/// reference's coordinates with
/// bilinear interpolation. Reference pixels whose source lies outside the frame take the reference's own
/// value, so the uncovered strip shows no difference (nothing there can be inspected).
///
/// Channel 2 is computed from the stored channels 0 and 1 in float, so it equals |ch0 − ch1| bit for bit.
/// When the frame is not the model's size, the aligned frame (rounded to 8 bits) and the reference are each
/// resized with `LetterboxResampler` (OpenCV's bilinear) and channel 2 is taken after resizing.
///
/// One per worker and reference: the reference and its letterboxed plane are prepared in `init`; scratch is
/// allocated there too, so `compose` does not allocate. Not thread-safe.
public final class ReferenceComposer {
    /// Default of `copyTolerance`, pixels.
    public static let defaultCopyTolerance = 0.4

    /// What `compose` did, with what maps boxes back.
    public struct Composed: Sendable, Equatable {
        /// Letterbox geometry (reference size → model input).
        public var geometry: Letterbox
        /// The frame → reference motion the input was composed with.
        public var transform: RigidTransform
        /// True when the frame was interpolated; false when its pixels were copied (shifted by `copyShiftX`,
        /// `copyShiftY` whole pixels).
        public var resampled: Bool
        /// The whole-pixel shift of a copied frame (0 when resampled).
        public var copyShiftX: Int, copyShiftY: Int

        /// Maps a box found in model-input pixels back to the original frame's pixels: through the letterbox
        /// into reference (= aligned frame) coordinates, then the inverse motion on its four corners, their
        /// bounding box, clamped to the frame.
        public func frameBox(x1: Float, y1: Float, x2: Float, y2: Float) -> (x1: Float, y1: Float, x2: Float, y2: Float) {
            let r = geometry.sourceBox(x1: x1, y1: y1, x2: x2, y2: y2)
            let f = transform.frameBox(fromReference: Double(r.x1), Double(r.y1), Double(r.x2), Double(r.y2),
                                       frameWidth: geometry.sourceWidth, frameHeight: geometry.sourceHeight)
            return (Float(f.x1), Float(f.y1), Float(f.x2), Float(f.y2))
        }
    }

    /// Reference size (frames must match).
    public let width: Int, height: Int
    /// Letterbox geometry to the model input.
    public let geometry: Letterbox
    /// Largest displacement error (pixels, anywhere in the frame) accepted to copy the frame shifted by
    /// whole pixels instead of resampling it; 0 resamples any motion but the identity and whole-pixel shifts.
    public let copyTolerance: Double
    private let reference: UnsafeMutablePointer<UInt8>
    /// Channel 1 at the frame's size (value/255), copied row by row when the frame is not resized.
    private let referenceFloats: UnsafeMutablePointer<Float>
    /// Channel 1, letterboxed once (only when the frame is resized into the input).
    private let referenceInput: UnsafeMutablePointer<Float>?
    private let aligned: PixelBuffer?
    private let resampler = LetterboxResampler()
    /// One row of bytes and one of floats (a copied or warped row), so composing allocates nothing.
    private let rowBytes: UnsafeMutablePointer<UInt8>, rowFloats: UnsafeMutablePointer<Float>
    private let converter: LumaConverter
    private let toFloat: [Float] = (0..<256).map { Float($0) / 255 }

    /// Prepares composition against `reference` (copied) for a `targetWidth`×`targetHeight` model input.
    /// Throws `ImagingError.zeroSize` for an empty target, `ReferenceError.referenceTooSmall` under 2×2,
    /// `.invalidSetting` for a negative or non-finite `copyTolerance`.
    public init(reference: GrayPlane, targetWidth: Int = 640, targetHeight: Int = 640,
                copyTolerance: Double = ReferenceComposer.defaultCopyTolerance) throws {
        guard copyTolerance.isFinite, copyTolerance >= 0 else {
            throw ReferenceError.invalidSetting("copy tolerance \(copyTolerance) px must be ≥ 0")
        }
        self.copyTolerance = copyTolerance
        width = reference.width; height = reference.height
        guard width >= 2, height >= 2 else { throw ReferenceError.referenceTooSmall(width: width, height: height, minimum: 2) }
        geometry = try Letterbox(sourceWidth: width, sourceHeight: height, targetWidth: targetWidth,
                                 targetHeight: targetHeight)
        self.reference = .allocate(capacity: width * height)
        for y in 0..<height { (self.reference + y * width).update(from: reference.base + y * reference.stride, count: width) }
        referenceFloats = .allocate(capacity: width * height)
        rowBytes = .allocate(capacity: width); rowFloats = .allocate(capacity: width)
        for i in 0..<(width * height) { referenceFloats[i] = Float(self.reference[i]) / 255 }
        converter = try LumaConverter(expectedPixels: width * height)
        if geometry.resizedWidth == width && geometry.resizedHeight == height {
            referenceInput = nil; aligned = nil
        } else {
            let plane = PixelBuffer(capacity: width * height)
            plane.bytes.copyMemory(from: self.reference, byteCount: width * height)
            plane.width = width; plane.height = height; plane.format = .gray8; plane.byteCount = width * height
            let three = UnsafeMutablePointer<Float>.allocate(capacity: 3 * targetWidth * targetHeight)
            defer { three.deallocate() }
            try resampler.write(plane, geometry: geometry, into: three)
            let input = UnsafeMutablePointer<Float>.allocate(capacity: targetWidth * targetHeight)
            input.update(from: three, count: targetWidth * targetHeight)
            referenceInput = input; aligned = plane
        }
    }

    deinit {
        reference.deallocate(); referenceFloats.deallocate(); referenceInput?.deallocate()
        rowBytes.deallocate(); rowFloats.deallocate()
    }

    /// Floats `compose` writes: 3 × target height × target width.
    public var inputCount: Int { 3 * geometry.targetWidth * geometry.targetHeight }

    /// How far (pixels) copying the frame shifted by the whole pixels nearest to `t`'s translation would put
    /// any pixel of a `width`×`height` frame from where `t` puts it: the largest error at the four corners.
    public static func copyError(_ t: RigidTransform, width: Int, height: Int) -> Double {
        let sx = t.dx.rounded(), sy = t.dy.rounded()
        func error(_ x: Double, _ y: Double) -> Double {
            let p = t.referencePoint(fromFrame: x, y)
            return hypot(p.x - (x + sx), p.y - (y + sy))
        }
        let w = Double(width), h = Double(height)
        return max(max(error(0, 0), error(w, 0)), max(error(0, h), error(w, h)))
    }

    /// The luma plane of any frame (see `LumaConverter`), valid until the next call; align it, then pass it
    /// to `compose(frame:transform:into:)`.
    public func luma(of pixels: PixelBuffer) throws -> GrayPlane { try converter.luma(of: pixels) }

    /// Converts `pixels` to luma and composes it (`luma(of:)`, then `compose(frame:transform:into:)`).
    public func compose(_ pixels: PixelBuffer, transform: RigidTransform,
                        into input: UnsafeMutablePointer<Float>, count: Int) throws -> Composed {
        try compose(frame: luma(of: pixels), transform: transform, into: input, count: count)
    }

    /// Writes the three-channel input for `frame` aligned by `transform` (frame → reference, e.g. from
    /// `ReferenceAligner`) into `input`, which holds `count` floats (at least `inputCount`). Throws
    /// `ReferenceError.sizeMismatch` when the frame is not the reference's size, `.outputTooSmall` for a
    /// short buffer.
    public func compose(frame: GrayPlane, transform: RigidTransform, into input: UnsafeMutablePointer<Float>,
                        count: Int) throws -> Composed {
        guard frame.width == width, frame.height == height else {
            throw ReferenceError.sizeMismatch(frameWidth: frame.width, frameHeight: frame.height,
                                              referenceWidth: width, referenceHeight: height)
        }
        guard count >= inputCount else { throw ReferenceError.outputTooSmall(needed: inputCount, got: count) }
        let copy = Self.copyError(transform, width: width, height: height) <= copyTolerance
        let sx = copy ? -Int(transform.dx.rounded()) : 0, sy = copy ? -Int(transform.dy.rounded()) : 0
        let composed = Composed(geometry: geometry, transform: transform, resampled: !copy, copyShiftX: sx, copyShiftY: sy)
        let g = geometry, tw = g.targetWidth, plane = tw * g.targetHeight
        try toFloat.withUnsafeBufferPointer { lut in
            if let aligned, let referenceInput {
                // Resized into the input: align at the frame's size in 8 bits, then letterbox both pictures.
                let out = aligned.bytes.assumingMemoryBound(to: UInt8.self)
                for y in 0..<height {
                    let o = out + y * width
                    if copy { copyRow(frame, y, sx, sy, o) } else { warpRow(frame, y, transform, o) }
                }
                try resampler.write(aligned, geometry: g, into: input)
                (input + plane).update(from: referenceInput, count: plane)
                for y in g.padTop..<(g.padTop + g.resizedHeight) {
                    let a = input + y * tw + g.padLeft, b = a + plane, d = b + plane
                    for x in 0..<g.resizedWidth { d[x] = abs(a[x] - b[x]) }
                }
                return
            }
            LetterboxResampler.fillPadding(g, into: input)
            for y in 0..<height {
                let c0 = input + (g.padTop + y) * tw + g.padLeft, c1 = c0 + plane, c2 = c1 + plane
                if copy {
                    copyRow(frame, y, sx, sy, rowBytes)
                    Self.toFloats(rowBytes, lut, c0, width)
                } else {
                    warpRowFloat(frame, y, transform, c0)
                }
                c1.update(from: referenceFloats + y * width, count: width)
                Self.absoluteDifference(c0, c1, c2, width)
            }
        }
        return composed
    }

    /// Row `y` of the frame shifted by whole pixels (reference pixel x comes from frame pixel x + sx, y + sy);
    /// where that is outside the frame, the reference's pixel.
    private func copyRow(_ frame: GrayPlane, _ y: Int, _ sx: Int, _ sy: Int, _ out: UnsafeMutablePointer<UInt8>) {
        let ref = reference + y * width
        let fy = y + sy
        guard fy >= 0, fy < height else { out.update(from: ref, count: width); return }
        let src = frame.base + fy * frame.stride
        let lo = max(0, -sx), hi = min(width, width - sx)
        if lo >= hi { out.update(from: ref, count: width); return }
        if lo > 0 { out.update(from: ref, count: lo) }
        (out + lo).update(from: src + lo + sx, count: hi - lo)
        if hi < width { (out + hi).update(from: ref + hi, count: width - hi) }
    }

    /// Row `y` of the frame warped into the reference's coordinates (bilinear), rounded to 8 bits.
    private func warpRow(_ frame: GrayPlane, _ y: Int, _ t: RigidTransform, _ out: UnsafeMutablePointer<UInt8>) {
        warpRowFloat(frame, y, t, rowFloats)
        for x in 0..<width { out[x] = UInt8(rowFloats[x] * 255 + 0.5) }
    }

    /// Row `y` of the frame warped into the reference's coordinates (bilinear), as value/255; reference pixels
    /// whose source falls outside the frame get the reference's value.
    private func warpRowFloat(_ frame: GrayPlane, _ y: Int, _ t: RigidTransform, _ out: UnsafeMutablePointer<Float>) {
        let m = t.inverseIndexMatrix
        let a = Float(m.0), d = Float(m.3)
        let rowX = Float(m.1 * Double(y) + m.2), rowY = Float(m.4 * Double(y) + m.5)
        // Columns whose source lies inside the frame with both taps (0 ≤ f < size − 1), found from the line's
        // equation and narrowed by one pixel each side against rounding: there the loop needs no checks.
        var lo = 0.0, hi = Double(width - 1)
        func narrow(_ k: Double, _ o: Double, _ size: Int) {
            let top = Double(size - 1) - 1e-3
            if abs(k) < 1e-12 {
                if o < 0 || o > top { lo = 1; hi = 0 }
            } else {
                let e0 = -o / k, e1 = (top - o) / k
                lo = max(lo, min(e0, e1)); hi = min(hi, max(e0, e1))
            }
        }
        narrow(m.0, m.1 * Double(y) + m.2, width)
        narrow(m.3, m.4 * Double(y) + m.5, height)
        let start = hi >= lo ? min(width, max(0, Int(lo.rounded(.up)) + 1)) : width
        let end = hi >= lo ? max(start, min(width, Int(hi.rounded(.down)))) : width
        for x in 0..<start { out[x] = warpedPixel(frame, x, y, a, d, rowX, rowY) }
        let base = frame.base, stride = frame.stride
        // Vector operands throughout: a scalar operand makes Swift's SIMD types loop lane by lane.
        let lanes = SIMD8<Float>(0, 1, 2, 3, 4, 5, 6, 7)
        let va = SIMD8<Float>(repeating: a), vd = SIMD8<Float>(repeating: d)
        let vx = SIMD8<Float>(repeating: rowX), vy = SIMD8<Float>(repeating: rowY)
        let inv255 = SIMD8<Float>(repeating: 1 / 255)
        let byte = SIMD8<Int32>(repeating: 0xFF), eight = SIMD8<Int32>(repeating: 8)
        var x = start
        while x + 8 <= end {
            let xv = lanes + SIMD8<Float>(repeating: Float(x))
            let (ix, ax) = Self.floorSplit(va * xv + vx), (iy, ay) = Self.floorSplit(vd * xv + vy)
            let f00: SIMD8<Float>, f01: SIMD8<Float>, f10: SIMD8<Float>, f11: SIMD8<Float>
            if iy[7] == iy[0] && ix[7] &- ix[0] == 7 {
                // The eight sources are consecutive pixels of one row (the usual case for small rotations:
                // the source row changes every 1/sin θ pixels): four contiguous 8-byte loads.
                let p = UnsafeRawPointer(base + Int(iy[0]) * stride + Int(ix[0]))
                f00 = Self.floats(p.loadUnaligned(as: SIMD8<UInt8>.self))
                f01 = Self.floats(p.loadUnaligned(fromByteOffset: 1, as: SIMD8<UInt8>.self))
                f10 = Self.floats(p.loadUnaligned(fromByteOffset: stride, as: SIMD8<UInt8>.self))
                f11 = Self.floats(p.loadUnaligned(fromByteOffset: stride + 1, as: SIMD8<UInt8>.self))
            } else {
                // Both taps of a row in one 16-bit load (little-endian: the left pixel in the low byte).
                let off = iy &* SIMD8<Int32>(repeating: Int32(stride)) &+ ix
                var upper = SIMD8<Int32>(), lower = SIMD8<Int32>()
                for i in 0..<8 {
                    let p = UnsafeRawPointer(base + Int(off[i]))
                    upper[i] = Int32(p.loadUnaligned(as: UInt16.self))
                    lower[i] = Int32(p.loadUnaligned(fromByteOffset: stride, as: UInt16.self))
                }
                f00 = SIMD8<Float>(upper & byte); f01 = SIMD8<Float>(upper &>> eight)
                f10 = SIMD8<Float>(lower & byte); f11 = SIMD8<Float>(lower &>> eight)
            }
            let topRow = f00 + ax * (f01 - f00), bottomRow = f10 + ax * (f11 - f10)
            let v = (topRow + ay * (bottomRow - topRow)) * inv255
            UnsafeMutableRawPointer(out + x).storeBytes(of: v, as: SIMD8<Float>.self)
            x += 8
        }
        while x < width { out[x] = warpedPixel(frame, x, y, a, d, rowX, rowY); x += 1 }
    }

    /// value/255 for a row of bytes, bit for bit the table's (a division, not a multiplication by 1/255).
    @inline(__always)
    private static func toFloats(_ src: UnsafePointer<UInt8>, _ lut: UnsafeBufferPointer<Float>,
                                 _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        let d = SIMD8<Float>(repeating: 255)
        var x = 0
        while x + 8 <= n {
            let v = floats(UnsafeRawPointer(src + x).loadUnaligned(as: SIMD8<UInt8>.self)) / d
            UnsafeMutableRawPointer(out + x).storeBytes(of: v, as: SIMD8<Float>.self)
            x += 8
        }
        while x < n { out[x] = lut[Int(src[x])]; x += 1 }
    }

    /// out = |a − b|, eight at a time (clearing the sign bit, as `abs` does).
    @inline(__always)
    private static func absoluteDifference(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>,
                                           _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        let mask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
        var x = 0
        while x + 8 <= n {
            let d = UnsafeRawPointer(a + x).loadUnaligned(as: SIMD8<Float>.self)
                - UnsafeRawPointer(b + x).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + x).storeBytes(of: unsafeBitCast(unsafeBitCast(d, to: SIMD8<UInt32>.self) & mask,
                                                                          to: SIMD8<Float>.self), as: SIMD8<Float>.self)
            x += 8
        }
        while x < n { out[x] = abs(a[x] - b[x]); x += 1 }
    }

    /// Eight bytes as floats.
    @inline(__always)
    private static func floats(_ v: SIMD8<UInt8>) -> SIMD8<Float> {
        SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: v))
    }

    /// Integer and fractional parts of non-negative values under 2^22, with vector operations only (the
    /// standard library's float-to-integer vector conversions and `rounded(.down)` run out of line, lane by lane).
    @inline(__always)
    private static func floorSplit(_ f: SIMD8<Float>) -> (SIMD8<Int32>, SIMD8<Float>) {
        let magic = SIMD8<Float>(repeating: 8_388_608)  // 2^23: adding it rounds to an integer in the mantissa
        let r = f + magic
        var i = unsafeBitCast(r, to: SIMD8<Int32>.self) &- SIMD8<Int32>(repeating: 0x4B00_0000)
        var whole = r - magic
        let over = whole .> f  // rounded up: step back to the floor
        i.replace(with: i &- SIMD8<Int32>(repeating: 1), where: over)
        whole.replace(with: whole - SIMD8<Float>(repeating: 1), where: over)
        return (i, f - whole)
    }

    /// One warped pixel with the checks (the columns at the frame's edges).
    @inline(__always)
    private func warpedPixel(_ frame: GrayPlane, _ x: Int, _ y: Int, _ a: Float, _ d: Float, _ rowX: Float,
                             _ rowY: Float) -> Float {
        let fx = a * Float(x) + rowX, fy = d * Float(x) + rowY
        guard fx >= 0, fy >= 0, fx <= Float(width - 1), fy <= Float(height - 1) else {
            return Float(reference[y * width + x]) / 255
        }
        // At the last row or column the second tap repeats the first (its weight is 0 there anyway).
        let ix = min(Int(fx), width - 2), iy = min(Int(fy), height - 2)
        let ax = fx - Float(ix), ay = fy - Float(iy)
        let p = frame.base + iy * frame.stride + ix, s = frame.stride
        let p00 = Float(p[0]), p01 = Float(p[1]), p10 = Float(p[s]), p11 = Float(p[s + 1])
        let top = p00 + ax * (p01 - p00), bottom = p10 + ax * (p11 - p10)
        return (top + ay * (bottom - top)) / 255
    }
}
