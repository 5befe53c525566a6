import CKernels
import Foundation
import XCTest

/// Every integer convolution path against the scalar direct-convolution reference, on odd shapes, strides,
/// dilations, padding and every epilogue: the packed GEMM of each instruction set this CPU has (the scalar
/// packed kernels always; AVX-512 VNNI, AVX-VNNI, AVX2 or NEON dot product where available; both activation
/// sources: direct 1x1 and phase planes), split into parts as threads would, grouped and depthwise included.
final class QConvKernelTests: XCTestCase {
    typealias Shape = (cin: Int, cout: Int, h: Int, w: Int, k: Int, s: Int, p: Int, d: Int, g: Int)
    static let shapes: [Shape] = [
        (1, 1, 5, 5, 1, 1, 0, 1, 1), (3, 5, 7, 9, 3, 1, 1, 1, 1), (5, 17, 9, 7, 3, 2, 1, 1, 1), (17, 33, 6, 6, 1, 1, 0, 1, 1),
        (33, 3, 11, 13, 3, 2, 0, 1, 1), (8, 9, 10, 12, 3, 1, 2, 2, 1), (64, 19, 7, 23, 1, 1, 0, 1, 1), (7, 50, 20, 20, 3, 1, 1, 1, 1),
        (3, 16, 31, 29, 3, 2, 1, 1, 1), (12, 13, 9, 11, 5, 1, 2, 1, 1), (16, 8, 8, 8, 1, 2, 0, 1, 1), (8, 7, 6, 6, 1, 1, 1, 1, 1), (8, 9, 13, 12, 3, 2, 2, 2, 1), (5, 10, 17, 19, 5, 2, 2, 1, 1),
        (4, 6, 40, 70, 3, 2, 1, 1, 1), (3, 12, 11, 9, 3, 3, 1, 1, 1),
        (8, 8, 9, 9, 3, 1, 1, 1, 8), (6, 9, 8, 8, 3, 1, 1, 1, 3), (16, 16, 13, 11, 5, 2, 2, 1, 16),
    ]

    func testEveryPathMatchesScalarReference() {
        var rng = SystemRandomNumberGenerator()
        let isas = (0..<Int32(CK_ISA_COUNT)).filter { ck_isa_available($0) != 0 }
        XCTAssertTrue(isas.contains(ck_isa_best()))
        var checked = 0
        for sh in Self.shapes {
            for mode in 0..<4 { for signedIn in [false, true] {
                let oh = (sh.h + 2 * sh.p - sh.d * (sh.k - 1) - 1) / sh.s + 1, ow = (sh.w + 2 * sh.p - sh.d * (sh.k - 1) - 1) / sh.s + 1
                let k = sh.cin / sh.g * sh.k * sh.k
                let x = (0..<(sh.cin * sh.h * sh.w)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let w = (0..<(sh.cout * k)).map { _ in Int8.random(in: -128...127, using: &rng) }
                let xzp = Int32.random(in: 0...255, using: &rng)
                let comp = (0..<sh.cout).map { c in -xzp * w[(c * k)..<((c + 1) * k)].reduce(Int32(0)) { $0 + Int32($1) } }
                let mul = (0..<sh.cout).map { _ in Float.random(in: 0.0001...0.001, using: &rng) }
                let bias = (0..<sh.cout).map { _ in Float.random(in: -1...1, using: &rng) }
                let lut = (0..<256).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let outBytes = sh.cout * oh * ow * (mode == 1 || mode == 3 ? 4 : 1)
                var expected = [UInt8](repeating: 0, count: outBytes)
                var outputs: [(String, [UInt8])] = []
                x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in comp.withUnsafeBufferPointer { cp in
                mul.withUnsafeBufferPointer { mp in bias.withUnsafeBufferPointer { bp in lut.withUnsafeBufferPointer { lp in
                    var p = ck_qconv(cin: Int32(sh.cin), H: Int32(sh.h), W: Int32(sh.w), cout: Int32(sh.cout), kh: Int32(sh.k), kw: Int32(sh.k),
                                     sh: Int32(sh.s), sw: Int32(sh.s), ph: Int32(sh.p), pw: Int32(sh.p), dh: Int32(sh.d), dw: Int32(sh.d),
                                     OH: Int32(oh), OW: Int32(ow), group: Int32(sh.g), x_signed: signedIn ? 1 : 0, x_zp: xzp, K: Int32(k),
                                     w: wp.baseAddress, comp: cp.baseAddress, mul: mp.baseAddress, bias: bp.baseAddress, out_mode: Int32(mode),
                                     y_scale: 0.05, y_zp: 3, y_signed: mode == 2 ? 0 : 1, lut: mode == 0 ? lp.baseAddress : nil, packed: nil, isa: 0)
                    ck_qconv_run_reference(&p, xp.baseAddress, &expected, 0, Int32(sh.cout))
                    for isa in isas {
                        var blob = [UInt8](repeating: 0, count: ck_qconv_pack(&p, isa, nil))
                        blob.withUnsafeMutableBytes { bb in
                            _ = ck_qconv_pack(&p, isa, bb.baseAddress)
                            var q = p
                            q.packed = UnsafeRawPointer(bb.baseAddress); q.isa = isa
                            var shared = [UInt8](repeating: 0xA5, count: ck_qconv_shared_scratch(&q) + 1)
                            var task = [UInt8](repeating: 0x5A, count: ck_qconv_task_scratch(&q))
                            // Preparation in two channel ranges and panels in two parts, as two threads split them.
                            let half = sh.cin / 2
                            ck_qconv_prepare(&q, xp.baseAddress, &shared, 0, Int32(half))
                            ck_qconv_prepare(&q, xp.baseAddress, &shared, Int32(half), Int32(sh.cin))
                            let panels = ck_qconv_panels(&q)
                            var y = [UInt8](repeating: 0xEE, count: outBytes)
                            ck_qconv_compute(&q, xp.baseAddress, shared, &y, 0, panels / 2, &task)
                            ck_qconv_compute(&q, xp.baseAddress, shared, &y, panels / 2, panels, &task)
                            outputs.append((String(cString: ck_isa_label(isa)), y))
                        }
                    }
                } } } } } }
                for (name, y) in outputs {
                    checked += 1
                    if mode == 1 || mode == 3 {
                        let fa = y.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, fb = expected.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                        XCTAssertEqual(fa.map(\.bitPattern), fb.map(\.bitPattern), "\(name) \(sh) mode \(mode) signed \(signedIn)")
                    } else {
                        XCTAssertEqual(y, expected, "\(name) \(sh) mode \(mode) signed \(signedIn)")
                    }
                }
            } }
        }
        XCTAssertGreaterThanOrEqual(checked, Self.shapes.count * 8)
    }
}

/// Sigmoid rounds exactly like onnxruntime's (MLAS logistic approximation), so that QDQ float islands agree.
final class LogisticTests: XCTestCase {
    func testSigmoidMatchesOnnxruntimeBitForBit() {
        // Inputs and onnxruntime 1.32 CPU Sigmoid outputs, as float bit patterns; six of them differ from the
        // correctly rounded 1/(1+e^-x), and the first is above 1 as in onnxruntime.
        let x: [UInt32] = [0x418f7a0d, 0xc18c0000, 0xc0500000, 0xbf333333, 0x00000000, 0x3e99999a, 0x3fc00000, 0x40980000, 0x41100000, 0x41c80000]
        let ort: [UInt32] = [0x3f800001, 0x33000000, 0x3d18e410, 0x3ea9e34c, 0x3f000000, 0x3f130eaa, 0x3f514c8f, 0x3f7dcddd, 0x3f7ff7ea, 0x3f800000]
        for n in [x.count, 1] {  // the dispatched loop and a single element
            let input = x.prefix(n).map { Float(bitPattern: $0) }
            var y = [Float](repeating: 0, count: n)
            ck_unary_f32(0, input, &y, n, 0, 0)
            XCTAssertEqual(y.map(\.bitPattern), Array(ort.prefix(n)))
            ck_unary_f32(1, input, &y, n, 0, 0)
            XCTAssertEqual(y, zip(input, ort).map { $0 * Float(bitPattern: $1) }, "SiLU is x times the same sigmoid")
        }
    }
}
