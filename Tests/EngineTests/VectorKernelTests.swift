import CKernels
import Foundation
import XCTest

/// The vectorised elementwise and pooling kernels against plain Swift definitions, on lengths that exercise the
/// SIMD bodies and their scalar tails.
final class VectorKernelTests: XCTestCase {
    var rng = SystemRandomNumberGenerator()

    func testQuantizeRoundsHalfToEvenAndSaturates() {
        for n in [7, 16, 1000, 1037] { for signed in [false, true] {
            let scale: Float = 0.05, zp: Int32 = signed ? -3 : 128
            // Exact ties (k + 0.5 steps), values far outside the range, and random values.
            let x: [Float] = (0..<n).map { i in
                switch i % 3 { case 0: return (Float(Int.random(in: -300...300, using: &rng)) + 0.5) * scale
                               case 1: return Float.random(in: -50...50, using: &rng)
                               default: return Float.random(in: -8...8, using: &rng) }
            }
            var y = [UInt8](repeating: 0, count: n)
            ck_quantize_f32(x, &y, n, scale, zp, signed ? 1 : 0)
            let lo: Float = signed ? -128 : 0, hi: Float = signed ? 127 : 255
            let expected = x.map { v -> UInt8 in
                let q = min(max((v / scale).rounded(.toNearestOrEven) + Float(zp), lo), hi)
                return signed ? UInt8(bitPattern: Int8(q)) : UInt8(q)
            }
            XCTAssertEqual(y, expected, "n \(n) signed \(signed)")
        } }
    }

    func testDequantizeAndTables() {
        let n = 1031
        let x = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for kind: Int32 in [0, 1] {
            var y = [Float](repeating: 0, count: n)
            ck_dequantize(x, &y, n, 0.0123, 7, kind)
            XCTAssertEqual(y, x.map { Float((kind == 1 ? Int(Int8(bitPattern: $0)) : Int($0)) - 7) * 0.0123 })
        }
        let lut = (0..<256).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var b = [UInt8](repeating: 0, count: n)
        ck_lut_u8(x, &b, n, lut)
        XCTAssertEqual(b, x.map { lut[Int($0)] })
        let table = (0..<256).map { _ in Float.random(in: -5...5, using: &rng) }
        var f = [Float](repeating: 0, count: n)
        ck_table_f32(x, &f, n, table)
        XCTAssertEqual(f, x.map { table[Int($0)] })
    }

    func testVectorSigmoidEqualsElementwise() {
        let n = 1029
        let x = (0..<n).map { _ in Float.random(in: -25...25, using: &rng) }
        for op: Int32 in [0, 1] {
            var all = [Float](repeating: 0, count: n), one = [Float](repeating: 0, count: 1)
            ck_unary_f32(op, x, &all, n, 0, 0)
            for i in 0..<n {
                ck_unary_f32(op, [x[i]], &one, 1, 0, 0)
                XCTAssertEqual(all[i].bitPattern, one[0].bitPattern, "op \(op) x \(x[i])")
            }
        }
    }

    func testMaxPoolFloatAndBytes() {
        let cases: [(h: Int, w: Int, k: Int, s: Int, p: Int)] = [(20, 20, 5, 1, 2), (9, 13, 3, 1, 1), (11, 7, 3, 2, 1), (6, 40, 5, 1, 2), (5, 5, 2, 2, 0)]
        for c in cases {
            let planes = 3
            let oh = (c.h + 2 * c.p - c.k) / c.s + 1, ow = (c.w + 2 * c.p - c.k) / c.s + 1
            let bytes = (0..<(planes * c.h * c.w)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            func naive(_ v: (Int) -> Int) -> [Int] {
                var out: [Int] = []
                for p in 0..<planes { for y in 0..<oh { for x in 0..<ow {
                    var m = Int.min
                    for i in 0..<c.k { for j in 0..<c.k {
                        let iy = y * c.s - c.p + i, ix = x * c.s - c.p + j
                        if iy >= 0, iy < c.h, ix >= 0, ix < c.w { m = max(m, v((p * c.h + iy) * c.w + ix)) }
                    } }
                    out.append(m)
                } } }
                return out
            }
            for signed in [false, true] {
                var y = [UInt8](repeating: 0, count: planes * oh * ow)
                ck_maxpool_u8(bytes, Int32(c.h), Int32(c.w), Int32(c.k), Int32(c.k), Int32(c.s), Int32(c.s), Int32(c.p), Int32(c.p), 1, 1,
                              Int32(oh), Int32(ow), &y, 0, Int32(planes), signed ? 1 : 0)
                let expected = naive { signed ? Int(Int8(bitPattern: bytes[$0])) : Int(bytes[$0]) }
                XCTAssertEqual(y.map { signed ? Int(Int8(bitPattern: $0)) : Int($0) }, expected, "\(c) signed \(signed)")
            }
            let floats = bytes.map { Float($0) - 100.5 }
            var yf = [Float](repeating: 0, count: planes * oh * ow)
            ck_maxpool_f32(floats, Int32(c.h), Int32(c.w), Int32(c.k), Int32(c.k), Int32(c.s), Int32(c.s), Int32(c.p), Int32(c.p), 1, 1,
                           Int32(oh), Int32(ow), &yf, 0, Int32(planes))
            XCTAssertEqual(yf, naive { Int(bytes[$0]) }.map { Float($0) - 100.5 }, "\(c) float")
        }
    }

    /// Nearest resize of bytes and floats: exactly twice the size (the row-doubling path), three times, and a
    /// table that is not a plain multiple, against the index-table definition.
    func testResizeNearest() {
        let planes = 3, h = 5, w = 37
        for (oh, ow) in [(2 * h, 2 * w), (3 * h, 3 * w), (2 * h, 2 * w - 1)] {
            let rows = (0..<oh).map { Int32($0 * h / oh) }, cols = (0..<ow).map { Int32($0 * w / ow) }
            let x = (0..<(planes * h * w)).map { _ in Float.random(in: -1...1, using: &rng) }
            var expected = [Float](repeating: 0, count: planes * oh * ow)
            for p in 0..<planes { for r in 0..<oh { for c in 0..<ow {
                expected[(p * oh + r) * ow + c] = x[(p * h + Int(rows[r])) * w + Int(cols[c])]
            } } }
            var y = [Float](repeating: .nan, count: planes * oh * ow)
            ck_resize_nearest(x, Int32(h), Int32(w), &y, Int32(oh), Int32(ow), rows, cols, 4, 0, Int32(planes))
            XCTAssertEqual(y, expected, "floats \(oh)x\(ow)")
            let xb = x.map { UInt8(truncatingIfNeeded: Int(($0 + 1) * 127)) }
            var yb = [UInt8](repeating: 0, count: planes * oh * ow)
            // Planes split in two calls, as two threads run them.
            ck_resize_nearest(xb, Int32(h), Int32(w), &yb, Int32(oh), Int32(ow), rows, cols, 1, 0, 1)
            ck_resize_nearest(xb, Int32(h), Int32(w), &yb, Int32(oh), Int32(ow), rows, cols, 1, 1, Int32(planes))
            XCTAssertEqual(yb, expected.map { UInt8(truncatingIfNeeded: Int(($0 + 1) * 127)) }, "bytes \(oh)x\(ow)")
        }
    }
}
