import Foundation

/// Finds the rigid motion (shift and rotation about the image centre, sub-pixel) that lines a frame up with a
/// golden-board reference, or refuses the frame with a reason (`AlignmentRefusal`).
///
/// Method, coarse to fine on a 2×2-box pyramid of both pictures:
/// 1. edge strength of the frame at the coarsest level against the reference's (a blank frame stops here);
/// 2. phase correlation (real FFTs, Hann window, up to 128×128) at the coarsest level (1/4 for 640×640) for the shift;
/// 3. Gauss-Newton on shift + rotation + brightness gain and offset (inverse compositional: the reference's
///    gradients are computed once) over the reference's strongest edge pixels, level by level down to
///    half resolution (full resolution for references under 256 px): on DeepPCB boards moved by known
///    motions that is within 0.04 px and 0.003°, so full resolution would only cost four times as much;
/// 4. the match quality, the normalised cross-correlation of the aligned frame and the reference over those
///    edge pixels, and the limits of `AlignmentSettings`.
///
/// One per worker and reference: everything that depends only on the reference (pyramid, edge pixels and
/// their gradients, the reference's spectrum) is computed in `init`, and all per-frame scratch is allocated
/// there too, so `align` does not allocate. Not thread-safe.
public final class ReferenceAligner {
    /// The limits frames are judged by.
    public let settings: AlignmentSettings
    /// Size of the reference (frames must have the same).
    public let width: Int, height: Int

    /// Edge pixels per pyramid level at most: enough for 0.05 px on DeepPCB boards; a Gauss-Newton step over
    /// them costs about 40 µs.
    static let maxPoints = 12_000
    private static let maxIterations = [8, 8, 10]
    /// Measurement slack on the limits: about twice the worst error on DeepPCB boards (0.04 px, 0.003°).
    static let shiftSlack = 0.1, rotationSlackDegrees = 0.01  // finest level first; coarser levels start further off

    /// One pyramid level: size, and the reference's edge pixels with what Gauss-Newton needs of them.
    private struct Level {
        let width: Int, height: Int
        /// Full-resolution pixels per level pixel (2^level).
        let scale: Double
        /// Edge pixels: position (level index coordinates), reference value, steepest-descent terms
        /// (∂R/∂x, ∂R/∂y, ∂R/∂θ about the level's centre).
        let count: Int
        let px: UnsafeMutablePointer<Float>, py: UnsafeMutablePointer<Float>, value: UnsafeMutablePointer<Float>
        let s0: UnsafeMutablePointer<Float>, s1: UnsafeMutablePointer<Float>, s2: UnsafeMutablePointer<Float>
        /// Sums over all edge pixels of the terms that do not depend on the frame.
        let totals: Sums
    }

    /// The frame-independent sums of the normal equations (over the edge pixels that land inside the frame):
    /// lanes 0-5 s_i·s_j (00 01 02 11 12 22), 6-8 s_i·R, 9-11 s_i, 12 R², 13 R, 14 count. A vector, so
    /// that updating it per frame allocates nothing.
    private typealias Sums = SIMD16<Double>

    /// One edge pixel's lanes of `Sums`.
    private static func terms(_ a: Double, _ b: Double, _ c: Double, _ r: Double) -> Sums {
        Sums(a * a, a * b, a * c, b * b, b * c, c * c, a * r, b * r, c * r, a, b, c, r * r, r, 1, 0)
    }

    private let levels: [Level]
    private let finest: Int
    /// Frame pyramid scratch, levels 1...coarsest (level 0 is the caller's plane).
    private let framePyramid: [UnsafeMutablePointer<Float>]
    /// Reference at full resolution as floats, used when the finest level is 0.
    private let fullFrame: UnsafeMutablePointer<Float>?
    private let referenceStructure: Double

    // Phase correlation at the coarsest level.
    private let fft: FFT2D
    private let cropX: Int, cropY: Int
    private let windowX: [Float], windowY: [Float]
    private let referenceRe: UnsafeMutablePointer<Float>, referenceIm: UnsafeMutablePointer<Float>
    private let workRe: UnsafeMutablePointer<Float>, workIm: UnsafeMutablePointer<Float>
    private var removed = Sums.zero
    /// The 5×6 augmented normal equations, solved in place.
    private let system = UnsafeMutablePointer<Double>.allocate(capacity: 30)

    /// Prepares alignment against `reference` (copied; the plane may be reused afterwards). Throws
    /// `ReferenceError.referenceTooSmall` under 64×64, `.blankReference` for a picture without edges,
    /// `.invalidSetting` for settings out of range or a `maxShift` too large for the reference's size (more
    /// than a fifth of its smaller side).
    public init(reference: GrayPlane, settings: AlignmentSettings = AlignmentSettings()) throws {
        try settings.validate()
        let w = reference.width, h = reference.height
        guard w >= 64, h >= 64 else { throw ReferenceError.referenceTooSmall(width: w, height: h, minimum: 64) }
        guard settings.maxShift <= Double(min(w, h)) / 5 else {
            throw ReferenceError.invalidSetting(
                "max shift \(settings.maxShift) px is more than a fifth of the reference's smaller side (\(min(w, h)) px)")
        }
        self.settings = settings; width = w; height = h
        // Coarsest level: about 160×160 pixels or fewer (1/4 of 640×640), at least 32 pixels a side.
        var coarsest = 0
        while (w >> (coarsest + 1)) * (h >> (coarsest + 1)) >= 100 * 100 && min(w, h) >> (coarsest + 1) >= 32 {
            coarsest += 1
            if (w >> coarsest) * (h >> coarsest) <= 41_000 { break }
        }
        finest = min(w, h) >= 256 ? min(1, coarsest) : 0

        // Reference pyramid (floats), level 0 included.
        var pyramid: [UnsafeMutablePointer<Float>] = []
        let full = UnsafeMutablePointer<Float>.allocate(capacity: w * h)
        for y in 0..<h { for x in 0..<w { full[y * w + x] = Float(reference.base[y * reference.stride + x]) } }
        pyramid.append(full)
        for k in 1...max(1, coarsest) where k <= coarsest {
            let lw = w >> k, lh = h >> k, pw = w >> (k - 1)
            let out = UnsafeMutablePointer<Float>.allocate(capacity: lw * lh)
            Self.halve(pyramid[k - 1], width: pw, into: out, width: lw, height: lh)
            pyramid.append(out)
        }
        defer { for p in pyramid { p.deallocate() } }

        let structure = Self.structure(pyramid[coarsest], width: w >> coarsest, height: h >> coarsest)
        guard structure >= 0.5 else { throw ReferenceError.blankReference(structure: structure) }
        referenceStructure = structure
        var built: [Level] = []
        for k in 0...coarsest {
            built.append(k < finest ? Self.emptyLevel(w >> k, h >> k, k)
                                     : Self.makeLevel(pyramid[k], width: w >> k, height: h >> k, level: k))
        }
        levels = built
        framePyramid = (1...max(1, coarsest)).map { k in UnsafeMutablePointer<Float>.allocate(capacity: max(1, (w >> k) * (h >> k))) }
        fullFrame = finest == 0 ? UnsafeMutablePointer<Float>.allocate(capacity: w * h) : nil

        let lw = w >> coarsest, lh = h >> coarsest
        let nx = min(128, 1 << (Int.bitWidth - 1 - lw.leadingZeroBitCount))
        let ny = min(128, 1 << (Int.bitWidth - 1 - lh.leadingZeroBitCount))
        fft = FFT2D(rows: ny, columns: nx)
        cropX = (lw - nx) / 2; cropY = (lh - ny) / 2
        windowX = (0..<nx).map { Float(0.5 - 0.5 * cos(2 * Double.pi * (Double($0) + 0.5) / Double(nx))) }
        windowY = (0..<ny).map { Float(0.5 - 0.5 * cos(2 * Double.pi * (Double($0) + 0.5) / Double(ny))) }
        referenceRe = .allocate(capacity: nx * ny); referenceIm = .allocate(capacity: nx * ny)
        workRe = .allocate(capacity: nx * ny); workIm = .allocate(capacity: nx * ny)
        let maxShiftCoarse = settings.maxShift / Double(1 << coarsest)
        guard maxShiftCoarse < Double(min(nx, ny)) / 4 else {
            throw ReferenceError.invalidSetting("max shift \(settings.maxShift) px is too large for a \(w)×\(h) reference")
        }
        loadWindowed(pyramid[coarsest], levelWidth: lw, re: referenceRe)
        fft.forwardReal(re: referenceRe, im: referenceIm)
    }

    deinit {
        for l in levels { l.px.deallocate() }
        for p in framePyramid { p.deallocate() }
        fullFrame?.deallocate()
        referenceRe.deallocate(); referenceIm.deallocate(); workRe.deallocate(); workIm.deallocate()
        system.deallocate()
    }

    /// Aligns `frame` (same size as the reference) and judges it: `.aligned` with the frame → reference
    /// motion and its quality, or `.refused` with the reason (blank frame, another board, shift or rotation
    /// beyond the limits). Throws `ReferenceError.sizeMismatch` when the sizes differ.
    public func align(_ frame: GrayPlane) throws -> AlignmentOutcome {
        guard frame.width == width, frame.height == height else {
            throw ReferenceError.sizeMismatch(frameWidth: frame.width, frameHeight: frame.height,
                                              referenceWidth: width, referenceHeight: height)
        }
        let coarsest = levels.count - 1
        // Frame pyramid.
        if coarsest >= 1 {
            let w1 = width >> 1, h1 = height >> 1, out = framePyramid[0]
            for y in 0..<h1 {
                let a = frame.base + 2 * y * frame.stride, b = a + frame.stride, o = out + y * w1
                for x in 0..<w1 {
                    o[x] = Float(UInt16(a[2 * x]) &+ UInt16(a[2 * x + 1]) &+ UInt16(b[2 * x]) &+ UInt16(b[2 * x + 1])) * 0.25
                }
            }
            if coarsest >= 2 {
                for k in 2...coarsest {
                    Self.halve(framePyramid[k - 2], width: width >> (k - 1), into: framePyramid[k - 1],
                               width: width >> k, height: height >> k)
                }
            }
        }
        if let fullFrame {
            for y in 0..<height {
                let row = frame.base + y * frame.stride
                for x in 0..<width { fullFrame[y * width + x] = Float(row[x]) }
            }
        }
        let coarse = image(level: coarsest)
        let cw = width >> coarsest, ch = height >> coarsest

        let structure = Self.structure(coarse, width: cw, height: ch) / referenceStructure
        if structure < settings.minStructure {
            return .refused(.tooLittleStructure(structure: structure, required: settings.minStructure))
        }

        // Coarse shift by phase correlation.
        let (shiftX, shiftY, peak) = phaseCorrelate(coarse, levelWidth: cw)
        let scale = Double(1 << coarsest)
        // Warp reference → frame in full-resolution index coordinates: frame = R(psi)·ref + t.
        var psi = 0.0, tx = shiftX * scale, ty = shiftY * scale
        let quality = refineCoarseToFine(psi: &psi, tx: &tx, ty: &ty)
        let first = judge(psi: psi, tx: tx, ty: ty, quality: quality, peak: peak)
        // On sparse or one-directional boards (a few pads on blank laminate, long parallel tracks) the coarse
        // phase-correlation peak can be a wrong one: refinement from there never finds the board, or settles on
        // a false match far away (a 118 px "shift" of tracks that repeat). Before refusing, refine once more
        // from no motion at all: where the part lies as taught. A wrong board still fails the same limits from
        // either start; when both are refused, the better match gives the reason.
        guard case .refused = first, shiftX != 0 || shiftY != 0 else { return first }
        var psi0 = 0.0, tx0 = 0.0, ty0 = 0.0
        let quality0 = refineCoarseToFine(psi: &psi0, tx: &tx0, ty: &ty0)
        let second = judge(psi: psi0, tx: tx0, ty: ty0, quality: quality0, peak: peak)
        if case .aligned = second { return second }
        return quality0 > quality || !quality.isFinite ? second : first
    }

    /// The frame → reference motion from the reference → frame warp `frame = R(psi)·ref + t` (full-resolution
    /// index coordinates), judged against the quality, shift and rotation limits.
    private func judge(psi: Double, tx: Double, ty: Double, quality: Double, peak: Double) -> AlignmentOutcome {
        // Frame → reference in continuous coordinates (about the centre).
        let cx = Double(width) / 2 - 0.5, cy = Double(height) / 2 - 0.5
        let c = cos(psi), s = sin(psi)
        let ux = tx + c * cx - s * cy - cx, uy = ty + s * cx + c * cy - cy
        let transform = RigidTransform(dx: -(c * ux + s * uy), dy: -(-s * ux + c * uy), angle: -psi,
                                       centerX: Double(width) / 2, centerY: Double(height) / 2)
        if !(quality >= settings.minQuality) {
            return .refused(.doesNotMatch(quality: quality.isFinite ? quality : 0, required: settings.minQuality))
        }
        // The limits are judged with the alignment's own accuracy as slack, so a board measured at the limit
        // within that accuracy (a true 20 px shift read as 20.02) passes.
        if transform.shift > settings.maxShift + Self.shiftSlack {
            return .refused(.shiftBeyondLimit(shift: transform.shift, limit: settings.maxShift))
        }
        if abs(transform.degrees) > settings.maxRotationDegrees + Self.rotationSlackDegrees {
            return .refused(.rotationBeyondLimit(degrees: transform.degrees, limit: settings.maxRotationDegrees))
        }
        return .aligned(Alignment(transform: transform, quality: quality, peak: peak))
    }

    /// Gauss-Newton from the coarsest level down to the finest, starting at the given motion with unit gain
    /// and no offset; returns the match quality at the finest level.
    private func refineCoarseToFine(psi: inout Double, tx: inout Double, ty: inout Double) -> Double {
        var gain = 1.0, bias = 0.0, quality = 0.0
        for k in stride(from: levels.count - 1, through: finest, by: -1) {
            quality = refine(level: k, psi: &psi, tx: &tx, ty: &ty, gain: &gain, bias: &bias,
                             iterations: Self.maxIterations[min(k - finest, Self.maxIterations.count - 1)])
        }
        return quality
    }

    private func image(level k: Int) -> UnsafeMutablePointer<Float> {
        k == 0 ? fullFrame! : framePyramid[k - 1]
    }

    // MARK: Gauss-Newton

    /// Gauss-Newton iterations at level `k` on the warp reference → frame (angle `psi`, translation `tx`,
    /// `ty` in full-resolution index coordinates) and the brightness model frame ≈ gain·reference + bias.
    /// Returns the normalised cross-correlation over the edge pixels at the last iteration.
    private func refine(level k: Int, psi: inout Double, tx: inout Double, ty: inout Double,
                        gain: inout Double, bias: inout Double, iterations: Int) -> Double {
        let L = levels[k]
        let img = image(level: k)
        let w = L.width, h = L.height
        let s = L.scale, o = (s - 1) / 2
        let lcx = Double(w) / 2 - 0.5, lcy = Double(h) / 2 - 0.5
        let xmax = Float(w - 1) - 1e-3, ymax = Float(h - 1) - 1e-3
        var ncc = 0.0
        for _ in 0..<iterations {
            // The warp in this level's coordinates: same rotation, translation (R·o + t − o)/s.
            let c = cos(psi), sn = sin(psi)
            let a = Float(c), b = Float(-sn), d = Float(sn), e = Float(c)
            let lx = Float((c * o - sn * o + tx - o) / s), ly = Float((sn * o + c * o + ty - o) / s)
            removed = .zero
            var sF = 0.0, sFF = 0.0, sFR = 0.0, sF0 = 0.0, sF1 = 0.0, sF2 = 0.0
            var i = 0
            while i < L.count {
                let end = min(i + 512, L.count)
                var bF: Float = 0, bFF: Float = 0, bFR: Float = 0, b0: Float = 0, b1: Float = 0, b2: Float = 0
                for j in i..<end {
                    let x = L.px[j], y = L.py[j]
                    let fx = a * x + b * y + lx, fy = d * x + e * y + ly
                    guard fx >= 0, fy >= 0, fx < xmax, fy < ymax else { drop(L, j); continue }
                    let ix = Int(fx), iy = Int(fy)
                    let ax = fx - Float(ix), ay = fy - Float(iy)
                    let p = img + iy * w + ix
                    let top = p[0] + ax * (p[1] - p[0]), bottom = p[w] + ax * (p[w + 1] - p[w])
                    let f = top + ay * (bottom - top)
                    let r = L.value[j]
                    bF += f; bFF += f * f; bFR += f * r
                    b0 += f * L.s0[j]; b1 += f * L.s1[j]; b2 += f * L.s2[j]
                }
                sF += Double(bF); sFF += Double(bFF); sFR += Double(bFR)
                sF0 += Double(b0); sF1 += Double(b1); sF2 += Double(b2)
                i = end
            }
            let t = L.totals - removed
            let sRR = t[12], sR = t[13], n = t[14]
            guard n >= 16 else { return 0 }
            let varF = sFF - sF * sF / n, varR = sRR - sR * sR / n
            ncc = varF > 0 && varR > 0 ? (sFR - sF * sR / n) / (varF * varR).squareRoot() : 0
            // Normal equations for (du_x, du_y, dθ, dgain, dbias), J = [g·s0, g·s1, g·s2, R, 1].
            let g = gain, m = system
            for p in 0..<3 {
                for q in 0..<3 { m[p * 6 + q] = g * g * t[Self.pairLane(p, q)] }
                m[p * 6 + 3] = g * t[6 + p]; m[p * 6 + 4] = g * t[9 + p]
                m[3 * 6 + p] = g * t[6 + p]; m[4 * 6 + p] = g * t[9 + p]
                let sFp = p == 0 ? sF0 : (p == 1 ? sF1 : sF2)
                m[p * 6 + 5] = g * (sFp - g * t[6 + p] - bias * t[9 + p])
            }
            m[3 * 6 + 3] = sRR; m[3 * 6 + 4] = sR; m[4 * 6 + 3] = sR; m[4 * 6 + 4] = n
            m[3 * 6 + 5] = sFR - g * sRR - bias * sR
            m[4 * 6 + 5] = sF - g * sR - bias * n
            guard Self.solve5(m) else { return ncc }
            let step = (m[5], m[11], m[17], m[23], m[29])
            gain += step.3; bias += step.4
            // Compose with the inverse of the step (inverse compositional), in level coordinates.
            let dth = step.2, cs = cos(dth), sd2 = sin(dth)
            let stx = lcx - cs * lcx + sd2 * lcy + step.0, sty = lcy - sd2 * lcx - cs * lcy + step.1
            // Inverse step: R^T, −R^T·t.
            let itx = -(cs * stx + sd2 * sty), ity = -(-sd2 * stx + cs * sty)
            // Level warp A = [c −sn lx; sn c ly] ∘ [cs sd2 itx; −sd2 cs ity].
            let na = c * cs + sn * sd2, nd = sn * cs - c * sd2
            let nlx = c * itx - sn * ity + Double(lx), nly = sn * itx + c * ity + Double(ly)
            psi = atan2(nd, na)
            let nc = cos(psi), ns = sin(psi)
            // Back to full resolution: t = s·t_level + o − R·o.
            tx = s * nlx + o - (nc * o - ns * o); ty = s * nly + o - (ns * o + nc * o)
            let radius = Double(max(w, h)) / 2
            if abs(step.0) < 0.005 && abs(step.1) < 0.005 && abs(dth) * radius < 0.005 { break }
        }
        return ncc
    }

    /// Takes edge pixel `j`'s frame-independent terms out of the sums (it fell outside the frame).
    private func drop(_ L: Level, _ j: Int) {
        removed += Self.terms(Double(L.s0[j]), Double(L.s1[j]), Double(L.s2[j]), Double(L.value[j]))
    }

    /// The `Sums` lane of s_p·s_q.
    private static func pairLane(_ p: Int, _ q: Int) -> Int {
        let (i, j) = p <= q ? (p, q) : (q, p)
        return i == 0 ? j : (i == 1 ? 2 + j : 5)
    }

    /// Solves the 5×5 system in the augmented 5×6 matrix in place (Gauss-Jordan, partial pivoting); the
    /// solution is left in the last column. False when the system is singular (no usable edges).
    private static func solve5(_ m: UnsafeMutablePointer<Double>) -> Bool {
        for col in 0..<5 {
            var pivot = col
            for r in (col + 1)..<5 where abs(m[r * 6 + col]) > abs(m[pivot * 6 + col]) { pivot = r }
            guard abs(m[pivot * 6 + col]) > 1e-9 else { return false }
            if pivot != col { for c in 0..<6 { let t = m[col * 6 + c]; m[col * 6 + c] = m[pivot * 6 + c]; m[pivot * 6 + c] = t } }
            for r in 0..<5 where r != col {
                let f = m[r * 6 + col] / m[col * 6 + col]
                if f != 0 { for c in col..<6 { m[r * 6 + c] -= f * m[col * 6 + c] } }
            }
        }
        for r in 0..<5 { m[r * 6 + 5] /= m[r * 6 + r] }
        return true
    }

    // MARK: Phase correlation

    /// Copies the crop of a level picture into the FFT planes, minus its windowed mean, times the window.
    private func loadWindowed(_ img: UnsafePointer<Float>, levelWidth lw: Int, re: UnsafeMutablePointer<Float>) {
        let nx = fft.columns, ny = fft.rows
        var sum: Float = 0, weight: Float = 0
        for y in 0..<ny {
            let row = img + (cropY + y) * lw + cropX
            for x in 0..<nx { let wgt = windowX[x] * windowY[y]; sum += wgt * row[x]; weight += wgt }
        }
        let mean = sum / weight
        for y in 0..<ny {
            let row = img + (cropY + y) * lw + cropX
            for x in 0..<nx { re[y * nx + x] = (row[x] - mean) * windowX[x] * windowY[y] }
        }
    }

    /// The shift (level pixels) that carries the reference onto the frame at the coarsest level, and the
    /// height of the normalised correlation peak.
    private func phaseCorrelate(_ img: UnsafePointer<Float>, levelWidth lw: Int) -> (Double, Double, Double) {
        let nx = fft.columns, ny = fft.rows, n = nx * ny
        loadWindowed(img, levelWidth: lw, re: workRe)
        fft.forwardReal(re: workRe, im: workIm)
        // Normalised cross-power spectrum F·conj(R)/|F·conj(R)| on the columns the real transforms keep.
        for y in 0..<ny {
            for x in 0...(nx / 2) {
                let i = y * nx + x
                let fr = workRe[i], fi = workIm[i], rr = referenceRe[i], ri = referenceIm[i]
                let cr = fr * rr + fi * ri, ci = fi * rr - fr * ri
                let mag = (cr * cr + ci * ci).squareRoot() + 1e-20
                workRe[i] = cr / mag; workIm[i] = ci / mag
            }
        }
        fft.inverseToReal(re: workRe, im: workIm)
        var best = 0
        for i in 1..<n where workRe[i] > workRe[best] { best = i }
        let bx = best % nx, by = best / nx
        func at(_ x: Int, _ y: Int) -> Double { Double(workRe[((y + ny) % ny) * nx + (x + nx) % nx]) }
        let v0 = at(bx, by)
        func offset(_ m: Double, _ p: Double) -> Double {
            let den = m - 2 * v0 + p
            return den < 0 ? max(-0.5, min(0.5, 0.5 * (m - p) / den)) : 0
        }
        var sx = Double(bx) + offset(at(bx - 1, by), at(bx + 1, by))
        var sy = Double(by) + offset(at(bx, by - 1), at(bx, by + 1))
        if sx >= Double(nx / 2) { sx -= Double(nx) }
        if sy >= Double(ny / 2) { sy -= Double(ny) }
        return (sx, sy, v0 / Double(n))
    }

    // MARK: Reference preparation

    private static func halve(_ src: UnsafePointer<Float>, width sw: Int, into out: UnsafeMutablePointer<Float>,
                              width w: Int, height h: Int) {
        for y in 0..<h {
            let a = src + 2 * y * sw, b = a + sw, o = out + y * w
            for x in 0..<w { o[x] = (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]) * 0.25 }
        }
    }

    /// Root-mean-square gradient (central differences) over the interior: the picture's edge strength.
    private static func structure(_ img: UnsafePointer<Float>, width w: Int, height h: Int) -> Double {
        var total = 0.0
        for y in 1..<(h - 1) {
            var row: Float = 0
            for x in 1..<(w - 1) {
                let p = y * w + x
                let gx = (img[p + 1] - img[p - 1]) * 0.5, gy = (img[p + w] - img[p - w]) * 0.5
                row += gx * gx + gy * gy
            }
            total += Double(row)
        }
        return (total / Double((w - 2) * (h - 2))).squareRoot()
    }

    private static func emptyLevel(_ w: Int, _ h: Int, _ k: Int) -> Level {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 1)  // a level finer than the finest: unused
        return Level(width: w, height: h, scale: Double(1 << k), count: 0, px: p, py: p, value: p, s0: p, s1: p,
                     s2: p, totals: .zero)
    }

    /// Picks the level's strongest edge pixels (at most `maxPoints`, 2 px from the border) and stores their
    /// steepest-descent terms.
    private static func makeLevel(_ img: UnsafePointer<Float>, width w: Int, height h: Int, level k: Int) -> Level {
        var magnitudes: [Float] = []
        magnitudes.reserveCapacity(w * h)
        for y in 2..<(h - 2) {
            for x in 2..<(w - 2) {
                let p = y * w + x
                let gx = (img[p + 1] - img[p - 1]) * 0.5, gy = (img[p + w] - img[p - w]) * 0.5
                magnitudes.append(gx * gx + gy * gy)
            }
        }
        let sorted = magnitudes.sorted(by: >)
        let limit = min(maxPoints, sorted.count)
        // Strongest first, but never flat pixels (they carry no alignment information).
        let threshold = max(sorted[max(0, limit - 1)], 1e-2)
        var chosen: [(Int, Int)] = []
        var i = 0
        for y in 2..<(h - 2) {
            for x in 2..<(w - 2) {
                if magnitudes[i] >= threshold && chosen.count < maxPoints { chosen.append((x, y)) }
                i += 1
            }
        }
        let n = chosen.count
        let block = UnsafeMutablePointer<Float>.allocate(capacity: max(1, 6 * n))
        let px = block, py = block + n, value = block + 2 * n, s0 = block + 3 * n, s1 = block + 4 * n, s2 = block + 5 * n
        let cx = Float(w) / 2 - 0.5, cy = Float(h) / 2 - 0.5
        var t = Sums.zero
        for (j, (x, y)) in chosen.enumerated() {
            let p = y * w + x
            let gx = (img[p + 1] - img[p - 1]) * 0.5, gy = (img[p + w] - img[p - w]) * 0.5
            px[j] = Float(x); py[j] = Float(y); value[j] = img[p]
            s0[j] = gx; s1[j] = gy; s2[j] = -gx * (Float(y) - cy) + gy * (Float(x) - cx)
            t += terms(Double(s0[j]), Double(s1[j]), Double(s2[j]), Double(img[p]))
        }
        return Level(width: w, height: h, scale: Double(1 << k), count: n, px: px, py: py, value: value, s0: s0,
                     s1: s1, s2: s2, totals: t)
    }
}
