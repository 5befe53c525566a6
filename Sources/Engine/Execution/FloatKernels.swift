import CKernels
import COpenBLAS
import Foundation

/// Copies bytes unchanged (Reshape, Flatten, Squeeze, Unsqueeze, Identity).
struct CopyKernel: Kernel {
    let src: Int, dst: Int, bytes: Int
    func run(_ c: RunContext) { if src != dst { memcpy(c.arena + dst, c.arena + src, bytes) } }
}

/// One strided copy: `shape` elements read at `srcStrides` from `src`, written at `dstStrides` to `dst`.
struct StridedPart: Sendable {
    var src: Int, srcStrides: [Int64], dst: Int, dstStrides: [Int64], shape: [Int64]
}

/// Concat, Split, Slice, Transpose, Expand, Gather: data movement as strided copies planned at load. With more
/// than one thread and enough bytes, each part is split along its first axis longer than 1 (the channels, as a
/// rule) into one piece per thread, and the pool runs the pieces.
struct StridedCopyKernel: Kernel {
    let parts: [StridedPart]
    let elem: Int

    func run(_ c: RunContext) {
        let threads = c.pool.threads
        let bytes = parts.reduce(0) { $0 + Int($1.shape.reduce(1, *)) } * elem
        guard threads > 1, bytes >= 1 << 16 else {
            for p in parts { copy(c, p, axis: 0, 0..<Int(p.shape.first ?? 1)) }
            return
        }
        var pieces: [(part: Int, axis: Int, range: Range<Int>)] = []
        for (i, p) in parts.enumerated() {
            let axis = p.shape.firstIndex { $0 > 1 } ?? 0
            let n = Int(p.shape.isEmpty ? 1 : p.shape[axis]), per = (n + threads - 1) / threads
            for lo in stride(from: 0, to: n, by: max(1, per)) { pieces.append((i, axis, lo..<min(n, lo + per))) }
        }
        c.pool.parallelFor(pieces.count) { t in
            let piece = pieces[t]
            copy(c, parts[piece.part], axis: piece.axis, piece.range)
        }
    }

    /// Copies the elements of `p` whose index on `axis` is in `range`.
    private func copy(_ c: RunContext, _ p: StridedPart, axis: Int, _ range: Range<Int>) {
        var shape = p.shape
        var src = p.src, dst = p.dst
        if !shape.isEmpty {
            shape[axis] = Int64(range.count)
            src += range.lowerBound * Int(p.srcStrides[axis]) * elem
            dst += range.lowerBound * Int(p.dstStrides[axis]) * elem
        }
        p.dstStrides.withUnsafeBufferPointer { ds in p.srcStrides.withUnsafeBufferPointer { ss in shape.withUnsafeBufferPointer { sh in
            ck_copy_strided(c.arena + dst, ds.baseAddress, c.arena + src, ss.baseAddress, sh.baseAddress, Int32(shape.count), Int32(elem))
        } } }
    }
}

/// Elementwise unary float op (Sigmoid, Relu, ...; codes as in ck_unary_f32).
struct UnaryKernel: Kernel {
    let op: Int32, x: Int, y: Int, count: Int, alpha: Float, beta: Float
    func run(_ c: RunContext) {
        c.pool.parallelRanges(count, align: 1024, grain: 8192) { r in
            ck_unary_f32(op, c.f32(x) + r.lowerBound, c.f32(y) + r.lowerBound, r.count, alpha, beta)
        }
    }
}

/// Elementwise binary float op with broadcasting (codes as in ck_binary_f32).
struct BinaryKernel: Kernel {
    let op: Int32, a: FloatOperand, b: FloatOperand, y: Int
    let aStrides: [Int64], bStrides: [Int64], shape: [Int64]
    func run(_ c: RunContext) {
        a.withPointer(c) { pa in b.withPointer(c) { pb in
            aStrides.withUnsafeBufferPointer { sa in bStrides.withUnsafeBufferPointer { sb in shape.withUnsafeBufferPointer { sh in
                ck_binary_f32(op, pa, sa.baseAddress, pb, sb.baseAddress, c.f32(y), sh.baseAddress, Int32(shape.count))
            } } }
        } }
    }
}

/// 2-D float convolution with its bias and an optional fused SiLU (Sigmoid·Mul). Group 1: CKernels' packed FMA
/// GEMM over the input or its phase planes (`ck_fconv_*`, weights repacked once here). Depthwise: its own loop.
/// Other grouped convs: im2col + OpenBLAS sgemm per group.
struct ConvKernel: Kernel {
    let x: Int, y: Int
    let cin: Int, h: Int, w: Int, cout: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int
    let oh: Int, ow: Int, group: Int
    let weights: [Float]  // [cout][cin/group*kh*kw]
    let bias: [Float]?
    let silu: Bool
    /// Group 1: the packed weights and the scratch layout (shared phase planes, then one part per thread).
    private var packed: PackedConv?
    private var sharedBytes = 0, taskBytes = 0
    /// Output-channel parts per panel for 1...8 threads (ck_fconv_splits), so that few panels still split evenly.
    private var splits: [Int32] = []

    init(x: Int, y: Int, cin: Int, h: Int, w: Int, cout: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int,
         dh: Int, dw: Int, oh: Int, ow: Int, group: Int, weights: [Float], bias: [Float]?, silu: Bool) {
        self.x = x; self.y = y; self.cin = cin; self.h = h; self.w = w; self.cout = cout; self.kh = kh; self.kw = kw
        self.sh = sh; self.sw = sw; self.ph = ph; self.pw = pw; self.dh = dh; self.dw = dw; self.oh = oh; self.ow = ow
        self.group = group; self.weights = weights; self.bias = bias; self.silu = silu
        guard group == 1 else { return }
        let isa = ck_isa_best()
        packed = withParams(isa: isa) { p in
            PackedConv(bytes: ck_fconv_pack(p, isa, nil), isa: isa) { _ = ck_fconv_pack(p, isa, $0) }
        }
        withParams(isa: isa) { p in
            sharedBytes = (ck_fconv_shared_scratch(p) + 63) / 64 * 64
            taskBytes = (ck_fconv_task_scratch(p) + 63) / 64 * 64
            splits = (1...8).map { ck_fconv_splits(p, Int32($0)) }
        }
    }

    var isDepthwise: Bool { group == cin && group == cout && group > 1 }

    func scratchBytes(threads: Int) -> Int {
        if group == 1 { return sharedBytes + taskBytes * threads }
        return isDepthwise ? 0 : (cin / group) * kh * kw * oh * ow * 4
    }

    /// Calls `body` with the C parameter block of a group-1 conv (pointers valid only inside).
    private func withParams<R>(isa: Int32, _ body: (UnsafePointer<ck_fconv>) -> R) -> R {
        weights.withUnsafeBufferPointer { wp in
            func make(_ bp: UnsafePointer<Float>?) -> R {
                var p = ck_fconv(cin: Int32(cin), H: Int32(h), W: Int32(w), cout: Int32(cout), kh: Int32(kh), kw: Int32(kw),
                                 sh: Int32(sh), sw: Int32(sw), ph: Int32(ph), pw: Int32(pw), dh: Int32(dh), dw: Int32(dw),
                                 OH: Int32(oh), OW: Int32(ow), w: wp.baseAddress, bias: bp, silu: silu ? 1 : 0,
                                 packed: packed.map { UnsafeRawPointer($0.blob) }, isa: isa, splits: 1)
                return body(&p)
            }
            if let bias { return bias.withUnsafeBufferPointer { make($0.baseAddress) } }
            return make(nil)
        }
    }

    func run(_ c: RunContext) {
        let out = c.f32(y), input = c.f32(x)
        if let packed {
            withParams(isa: packed.isa) { params in
                var q = params.pointee
                q.splits = splits[min(c.pool.threads, splits.count) - 1]
                withUnsafePointer(to: q) { p in
                    let scratch = c.scratch.assumingMemoryBound(to: Float.self)
                    if sharedBytes > 0 {
                        c.pool.parallelRanges(cin, grain: max(1, 16384 / max(1, h * w))) { r in
                            ck_fconv_prepare(p, input, scratch, Int32(r.lowerBound), Int32(r.upperBound))
                        }
                    }
                    let units = Int(ck_fconv_units(p)), parts = min(c.pool.threads, units), per = (units + parts - 1) / parts
                    c.pool.parallelFor(parts) { t in
                        let n0 = t * per, n1 = min(units, n0 + per)
                        guard n0 < n1 else { return }
                        ck_fconv_compute(p, input, scratch, out, Int32(n0), Int32(n1),
                                         (c.scratch + sharedBytes + t * taskBytes).assumingMemoryBound(to: Float.self))
                    }
                }
            }
            return
        }
        let n = oh * ow
        weights.withUnsafeBufferPointer { wp in
            let wb = wp.baseAddress!
            if isDepthwise {
                let biasValues = bias ?? []
                biasValues.withUnsafeBufferPointer { bb in
                let bp = bias == nil ? nil : bb.baseAddress
                c.pool.parallelRanges(cout) { r in
                    ck_depthwise_f32(input, Int32(h), Int32(w), wb, bp, Int32(kh), Int32(kw), Int32(sh), Int32(sw),
                                     Int32(ph), Int32(pw), Int32(dh), Int32(dw), Int32(oh), Int32(ow), out,
                                     Int32(r.lowerBound), Int32(r.upperBound))
                    if silu { ck_unary_f32(1, out + r.lowerBound * n, out + r.lowerBound * n, r.count * n, 0, 0) }
                }
                }
                return
            }
            let cg = cin / group, og = cout / group, k = cg * kh * kw
            let colBase = c.scratch.assumingMemoryBound(to: Float.self)
            for g in 0..<group {
                let xg = input + g * cg * h * w
                c.pool.parallelRanges(cg) { r in
                    ck_im2col_f32(xg, Int32(r.lowerBound), Int32(r.upperBound), Int32(h), Int32(w), Int32(kh), Int32(kw),
                                  Int32(sh), Int32(sw), Int32(ph), Int32(pw), Int32(dh), Int32(dw), Int32(oh), Int32(ow),
                                  colBase)
                }
                let col = UnsafePointer(colBase)
                // Split the output channels of this group across threads; each thread runs its own sgemm.
                c.pool.parallelRanges(og, align: 4) { r in
                    let o0 = g * og + r.lowerBound
                    let yo = out + o0 * n
                    var beta: Float = 0
                    if let bias {
                        for o in 0..<r.count { let v = bias[o0 + o]; let row = yo + o * n; for j in 0..<n { row[j] = v } }
                        beta = 1
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r.count), Int32(n), Int32(k), 1,
                                wb + o0 * k, Int32(k), col, Int32(n), beta, yo, Int32(n))
                    if silu { ck_unary_f32(1, yo, yo, r.count * n, 0, 0) }
                }
            }
        }
    }
}

/// MaxPool / AveragePool over NCHW planes.
struct PoolKernel: Kernel {
    let x: Int, y: Int, planes: Int, h: Int, w: Int, kh: Int, kw: Int, sh: Int, sw: Int, pt: Int, pl: Int
    let dh: Int, dw: Int, oh: Int, ow: Int, isMax: Bool, countIncludePad: Bool
    func run(_ c: RunContext) {
        c.pool.parallelRanges(planes) { r in
            if isMax {
                ck_maxpool_f32(c.f32(x), Int32(h), Int32(w), Int32(kh), Int32(kw), Int32(sh), Int32(sw), Int32(pt), Int32(pl),
                               Int32(dh), Int32(dw), Int32(oh), Int32(ow), c.f32(y), Int32(r.lowerBound), Int32(r.upperBound))
            } else {
                ck_avgpool_f32(c.f32(x), Int32(h), Int32(w), Int32(kh), Int32(kw), Int32(sh), Int32(sw), Int32(pt), Int32(pl),
                               Int32(oh), Int32(ow), countIncludePad ? 1 : 0, c.f32(y), Int32(r.lowerBound), Int32(r.upperBound))
            }
        }
    }
}

/// Nearest-neighbour Resize of the last two axes through source-index tables computed at load.
struct ResizeNearestKernel: Kernel {
    let x: Int, y: Int, planes: Int, h: Int, w: Int, oh: Int, ow: Int, elem: Int
    let rows: [Int32], cols: [Int32]
    func run(_ c: RunContext) {
        rows.withUnsafeBufferPointer { rp in cols.withUnsafeBufferPointer { cp in
            c.pool.parallelRanges(planes, grain: max(1, 16384 / max(1, oh * ow))) { r in
                ck_resize_nearest(c.arena + x, Int32(h), Int32(w), c.arena + y, Int32(oh), Int32(ow), rp.baseAddress, cp.baseAddress,
                                  Int32(elem), Int32(r.lowerBound), Int32(r.upperBound))
            }
        } }
    }
}

/// Softmax / LogSoftmax along one axis.
struct SoftmaxKernel: Kernel {
    let x: Int, y: Int, outer: Int, n: Int, inner: Int, log: Bool
    func run(_ c: RunContext) {
        ck_softmax_f32(c.f32(x), c.f32(y), Int32(outer), Int32(n), Int32(inner), log ? 1 : 0)
    }
}

/// Batched float MatMul with numpy broadcasting over the batch axes; B may be a constant.
struct MatMulKernel: Kernel {
    let a: Int, b: FloatOperand, y: Int
    let m: Int, k: Int, n: Int
    /// Per output batch: element offsets of A and B.
    let aOffsets: [Int], bOffsets: [Int]
    func run(_ c: RunContext) {
        b.withPointer(c) { pb in
            for i in 0..<aOffsets.count {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                            c.f32(a) + aOffsets[i], Int32(k), pb + bOffsets[i], Int32(n), 0, c.f32(y) + i * m * n, Int32(n))
            }
        }
    }
}
