import CKernels
import Foundation

/// QuantizeLinear at run time: float → u8/s8, per tensor or per axis.
struct QuantizeKernel: Kernel {
    let x: Int, y: Int, outer: Int, channels: Int, inner: Int
    let scales: [Float], zeroPoints: [Int32], signed: Bool
    func run(_ c: RunContext) {
        if scales.count == 1 {
            c.pool.parallelRanges(outer * channels * inner, align: 64, grain: 16384) { r in
                ck_quantize_f32(c.f32(x) + r.lowerBound, c.bytes(y) + r.lowerBound, r.count, scales[0], zeroPoints[0], signed ? 1 : 0)
            }
            return
        }
        for o in 0..<outer { for ch in 0..<channels {
            let off = (o * channels + ch) * inner
            ck_quantize_f32(c.f32(x) + off, c.bytes(y) + off, inner, scales[ch], zeroPoints[ch], signed ? 1 : 0)
        } }
    }
}

/// DequantizeLinear at run time: u8/s8/s32 → float, per tensor or per axis.
struct DequantizeKernel: Kernel {
    let x: Int, y: Int, outer: Int, channels: Int, inner: Int
    let scales: [Float], zeroPoints: [Int32], kind: Int32
    func run(_ c: RunContext) {
        let size = kind == 2 ? 4 : 1
        for o in 0..<outer { for ch in 0..<channels {
            let off = (o * channels + ch) * inner
            let s = scales.count == 1 ? 0 : ch
            ck_dequantize(c.arena + x + off * size, c.f32(y) + off, inner, scales[s], zeroPoints[s], kind)
        } }
    }
}

/// A 256-entry table between two quantized tensors (SiLU between Q/DQ pairs, computed once at load).
struct TableKernel: Kernel {
    let x: Int, y: Int, count: Int
    let table: [UInt8]
    func run(_ c: RunContext) {
        table.withUnsafeBufferPointer { t in
            c.pool.parallelRanges(count, align: 64, grain: 32768) { r in ck_lut_u8(c.bytes(x) + r.lowerBound, c.bytes(y) + r.lowerBound, r.count, t.baseAddress) }
        }
    }
}

/// Weights and epilogue constants of one conv (integer or float) repacked once at load for the dispatched
/// instruction set (ck_qconv_pack), shared read-only by every session.
final class PackedConv: @unchecked Sendable {
    let blob: UnsafeMutableRawPointer
    let isa: Int32
    init(bytes: Int, isa: Int32, fill: (UnsafeMutableRawPointer) -> Void) {
        blob = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        self.isa = isa
        fill(blob)
    }
    deinit { blob.deallocate() }
}

/// Integer convolution (u8/s8 activations × s8 weights, int32 accumulation) with its epilogue fused:
/// requantization to the next QuantizeLinear, optional SiLU (in float on the dequantized accumulator, or as
/// a byte table after requantization), or float output. The arithmetic lives in CKernels' `ck_qconv_*`.
struct QConvKernel: Kernel {
    let x: Int, y: Int
    let shape: (cin: Int, h: Int, w: Int, cout: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int, oh: Int, ow: Int, group: Int)
    let xSigned: Bool, xZeroPoint: Int
    let weights: [Int8], comp: [Int32], mul: [Float], bias: [Float]
    let outMode: Int, yScale: Float, yZeroPoint: Int, ySigned: Bool
    var table: [UInt8]?
    /// Packed weights and the scratch layout (shared part, then one part per thread).
    private(set) var packed: PackedConv?
    private(set) var sharedBytes = 0, taskBytes = 0, panels = 0

    init(x: Int, y: Int, shape: (cin: Int, h: Int, w: Int, cout: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int, oh: Int, ow: Int, group: Int),
         xSigned: Bool, xZeroPoint: Int, weights: [Int8], comp: [Int32], mul: [Float], bias: [Float],
         outMode: Int, yScale: Float, yZeroPoint: Int, ySigned: Bool, table: [UInt8]?) {
        self.x = x; self.y = y; self.shape = shape; self.xSigned = xSigned; self.xZeroPoint = xZeroPoint
        self.weights = weights; self.comp = comp; self.mul = mul; self.bias = bias
        self.outMode = outMode; self.yScale = yScale; self.yZeroPoint = yZeroPoint; self.ySigned = ySigned; self.table = table
    }

    /// The same conv at arena offsets `x` and `y`, with weights packed for the dispatched instruction set.
    func placed(x: Int, y: Int) -> QConvKernel {
        var k = QConvKernel(x: x, y: y, shape: shape, xSigned: xSigned, xZeroPoint: xZeroPoint, weights: weights, comp: comp,
                            mul: mul, bias: bias, outMode: outMode, yScale: yScale, yZeroPoint: yZeroPoint, ySigned: ySigned, table: table)
        let isa = ck_isa_best()
        k.packed = withParams { p in
            PackedConv(bytes: ck_qconv_pack(p, isa, nil), isa: isa) { _ = ck_qconv_pack(p, isa, $0) }
        }
        k.withParams { p in
            k.sharedBytes = (ck_qconv_shared_scratch(p) + 63) / 64 * 64
            k.taskBytes = (ck_qconv_task_scratch(p) + 63) / 64 * 64
            k.panels = Int(ck_qconv_panels(p))
        }
        return k
    }

    var k: Int { shape.cin / shape.group * shape.kh * shape.kw }
    func scratchBytes(threads: Int) -> Int { sharedBytes + taskBytes * threads }

    /// Calls `body` with the C parameter block (pointers valid only inside).
    func withParams<R>(_ body: (UnsafePointer<ck_qconv>) -> R) -> R {
        weights.withUnsafeBufferPointer { wp in comp.withUnsafeBufferPointer { cp in mul.withUnsafeBufferPointer { mp in
            bias.withUnsafeBufferPointer { bp in
                func make(_ lut: UnsafePointer<UInt8>?) -> R {
                    var p = ck_qconv(cin: Int32(shape.cin), H: Int32(shape.h), W: Int32(shape.w), cout: Int32(shape.cout),
                                     kh: Int32(shape.kh), kw: Int32(shape.kw), sh: Int32(shape.sh), sw: Int32(shape.sw),
                                     ph: Int32(shape.ph), pw: Int32(shape.pw), dh: Int32(shape.dh), dw: Int32(shape.dw),
                                     OH: Int32(shape.oh), OW: Int32(shape.ow), group: Int32(shape.group),
                                     x_signed: xSigned ? 1 : 0, x_zp: Int32(xZeroPoint), K: Int32(k),
                                     w: wp.baseAddress, comp: cp.baseAddress, mul: mp.baseAddress, bias: bp.baseAddress,
                                     out_mode: Int32(outMode), y_scale: yScale, y_zp: Int32(yZeroPoint),
                                     y_signed: ySigned ? 1 : 0, lut: lut, packed: packed.map { UnsafeRawPointer($0.blob) },
                                     isa: packed?.isa ?? ck_isa_best())
                    return body(&p)
                }
                if let table { return table.withUnsafeBufferPointer { make($0.baseAddress) } }
                return make(nil)
            }
        } } }
    }

    func run(_ c: RunContext) {
        withParams { p in
            let xin = UnsafeRawPointer(c.arena + x), yout = c.arena + y
            let scratch = c.scratch.assumingMemoryBound(to: UInt8.self)
            if sharedBytes > 0 {
                c.pool.parallelRanges(shape.cin, grain: max(1, 16384 / max(1, shape.h * shape.w))) { r in ck_qconv_prepare(p, xin, scratch, Int32(r.lowerBound), Int32(r.upperBound)) }
            }
            let parts = min(c.pool.threads, panels), per = (panels + parts - 1) / parts
            c.pool.parallelFor(parts) { t in
                let n0 = t * per, n1 = min(panels, n0 + per)
                guard n0 < n1 else { return }
                ck_qconv_compute(p, xin, scratch, yout, Int32(n0), Int32(n1), scratch + sharedBytes + t * taskBytes)
            }
        }
    }
}

/// MatMul whose operands come through DequantizeLinear and whose result goes to QuantizeLinear: integer
/// arithmetic on the quantized operands (ck_qmatmul), batch offsets in elements as in MatMulKernel.
struct QMatMulKernel: Kernel {
    let a: Int, b: Int, y: Int
    let m: Int, k: Int, n: Int
    let aOffsets: [Int], bOffsets: [Int]
    let aSigned: Bool, aZeroPoint: Int, bSigned: Bool, bZeroPoint: Int
    let multiplier: Float, yZeroPoint: Int, ySigned: Bool
    func run(_ c: RunContext) {
        for i in 0..<aOffsets.count {
            ck_qmatmul(c.arena + a + aOffsets[i], aSigned ? 1 : 0, Int32(aZeroPoint), c.arena + b + bOffsets[i], bSigned ? 1 : 0,
                       Int32(bZeroPoint), Int32(m), Int32(k), Int32(n), multiplier, c.arena + y + i * m * n, Int32(yZeroPoint), ySigned ? 1 : 0)
        }
    }
}
