import Foundation

/// A two-dimensional FFT of a power-of-two size (rows × columns), radix 2, on split real and imaginary
/// planes in place, with real-input forward and real-output inverse variants. It only serves the coarse phase correlation of `ReferenceAligner` on a
/// 128×128 (or smaller) picture, where a hand-written transform costs about 0.1 ms and spares the project a
/// system library. Tables and the column scratch are allocated once; not thread-safe.
final class FFT2D {
    let rows: Int, columns: Int
    private let rowPlan: Plan, columnPlan: Plan
    private var columnRe: [Float], columnIm: [Float]
    private var rowRe: [Float], rowIm: [Float]

    /// One length's twiddle factors and bit-reversal permutation.
    private struct Plan {
        let n: Int
        let cosines: [Float], sines: [Float]
        let reversed: [Int32]

        init(_ n: Int) {
            self.n = n
            cosines = (0..<max(1, n / 2)).map { Float(cos(2 * Double.pi * Double($0) / Double(n))) }
            sines = (0..<max(1, n / 2)).map { Float(sin(2 * Double.pi * Double($0) / Double(n))) }
            let bits = n.trailingZeroBitCount
            reversed = (0..<n).map { i in
                var r = 0
                for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
                return Int32(r)
            }
        }

        /// In-place transform of `n` values; `inverse` flips the exponent's sign (no 1/n scaling).
        func run(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, inverse: Bool) {
            for i in 0..<n {
                let j = Int(reversed[i])
                if j > i { swap(&re[i], &re[j]); swap(&im[i], &im[j]) }
            }
            let sign: Float = inverse ? 1 : -1
            cosines.withUnsafeBufferPointer { ct in
                sines.withUnsafeBufferPointer { st in
                    var size = 2
                    while size <= n {
                        let half = size / 2, step = n / size
                        var start = 0
                        while start < n {
                            for k in 0..<half {
                                let wr = ct[k * step], wi = sign * st[k * step]
                                let a = start + k, b = a + half
                                let tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr
                                re[b] = re[a] - tr; im[b] = im[a] - ti
                                re[a] += tr; im[a] += ti
                            }
                            start += size
                        }
                        size *= 2
                    }
                }
            }
        }
    }

    /// Plans a `rows`×`columns` transform; both must be powers of two.
    init(rows: Int, columns: Int) {
        precondition(rows > 1 && rows & (rows - 1) == 0 && columns > 1 && columns & (columns - 1) == 0,
                     "FFT sizes must be powers of two, at least 2")
        self.rows = rows; self.columns = columns
        rowPlan = Plan(columns); columnPlan = Plan(rows)
        columnRe = [Float](repeating: 0, count: rows); columnIm = columnRe
        rowRe = [Float](repeating: 0, count: columns); rowIm = rowRe
    }

    /// Forward transform of the real picture in `re` (`rows` × `columns`; `im` is scratch). Leaves the
    /// spectrum's columns 0...columns/2 in `re`/`im` (the rest follows by Hermitian symmetry and is not
    /// written). Two rows go through one complex transform, and only half the columns are transformed:
    /// about half the work of `run`.
    func forwardReal(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
        let n = columns, half = columns / 2
        rowScratch(re, im) { tr, ti in
            var r = 0
            while r < rows {
                let a = re + r * n, b = a + n
                tr.update(from: a, count: n); ti.update(from: b, count: n)
                rowPlan.run(tr, ti, inverse: false)
                for k in 0...half {
                    let nk = (n - k) & (n - 1)
                    a[k] = (tr[k] + tr[nk]) * 0.5; (im + r * n)[k] = (ti[k] - ti[nk]) * 0.5
                    b[k] = (ti[k] + ti[nk]) * 0.5; (im + (r + 1) * n)[k] = (tr[nk] - tr[k]) * 0.5
                }
                r += 2
            }
        }
        transformColumns(re, im, upTo: half, inverse: false)
    }

    /// Inverse of a spectrum whose result is real (Hermitian), given by its columns 0...columns/2 in
    /// `re`/`im`: leaves the real result (unscaled: × rows × columns) in `re`.
    func inverseToReal(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
        let n = columns, half = columns / 2
        transformColumns(re, im, upTo: half, inverse: true)
        rowScratch(re, im) { tr, ti in
            var r = 0
            while r < rows {
                let ar = re + r * n, ai = im + r * n, br = ar + n, bi = ai + n
                // Z = A + i·B over the whole row, the upper half from the symmetry H[n−k] = conj(H[k]).
                for k in 0...half { tr[k] = ar[k] - bi[k]; ti[k] = ai[k] + br[k] }
                for k in (half + 1)..<n {
                    let m = n - k
                    tr[k] = ar[m] + bi[m]; ti[k] = -ai[m] + br[m]
                }
                rowPlan.run(tr, ti, inverse: true)
                ar.update(from: tr, count: n); br.update(from: ti, count: n)
                r += 2
            }
        }
    }

    private func rowScratch(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>,
                            _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        rowRe.withUnsafeMutableBufferPointer { tr in
            rowIm.withUnsafeMutableBufferPointer { ti in body(tr.baseAddress!, ti.baseAddress!) }
        }
    }

    private func transformColumns(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, upTo last: Int,
                         inverse: Bool) {
        let n = rows, m = columns
        columnRe.withUnsafeMutableBufferPointer { cr in
            columnIm.withUnsafeMutableBufferPointer { ci in
                let cre = cr.baseAddress!, cim = ci.baseAddress!
                for c in 0...last {
                    for r in 0..<n { cre[r] = re[r * m + c]; cim[r] = im[r * m + c] }
                    columnPlan.run(cre, cim, inverse: inverse)
                    for r in 0..<n { re[r * m + c] = cre[r]; im[r * m + c] = cim[r] }
                }
            }
        }
    }

    /// Transforms the row-major planes (`rows` × `columns` each) in place (complex input).
    func run(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, inverse: Bool) {
        for r in 0..<rows { rowPlan.run(re + r * columns, im + r * columns, inverse: inverse) }
        transformColumns(re, im, upTo: columns - 1, inverse: inverse)
    }
}
