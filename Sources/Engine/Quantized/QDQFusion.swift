import CKernels
import Foundation

/// Conv (float or integer), QuantizeLinear, DequantizeLinear, and the QDQ patterns fused into integer kernels.
extension GraphBuilder {
    /// Conv geometry from attributes and shapes.
    struct ConvGeometry {
        var cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, group: Int
    }

    func convGeometry(_ node: OnnxNode, x: ValueDesc, wShape: [Int]) throws -> ConvGeometry {
        guard x.shape.count == 4, wShape.count == 4 else { throw fail(node, "only 2-D convolution (NCHW, 4-D weights) is supported") }
        guard x.shape[0] == 1 else { throw fail(node, "batch size \(x.shape[0]) is not supported (only 1)") }
        let group = node.int("group", 1)
        guard group >= 1, x.shape[1] % group == 0, wShape[0] % group == 0, wShape[1] * group == x.shape[1] else {
            throw fail(node, "input channels \(x.shape[1]), weight shape \(wShape) and group \(group) do not agree")
        }
        let k = node.ints("kernel_shape") ?? [wShape[2], wShape[3]]
        guard k == [wShape[2], wShape[3]] else { throw fail(node, "kernel_shape \(k) differs from the weights \(wShape)") }
        let s = node.ints("strides") ?? [1, 1], d = node.ints("dilations") ?? [1, 1], p = node.ints("pads") ?? [0, 0, 0, 0]
        guard s.count == 2, d.count == 2, p.count == 4 else { throw fail(node, "strides/dilations/pads have the wrong length") }
        let ap = node.string("auto_pad", "NOTSET")
        let (oh, pt, pb) = try ShapeRules.window(input: x.shape[2], kernel: k[0], stride: s[0], dilation: d[0], padBegin: p[0], padEnd: p[2], autoPad: ap, ceil: false, node)
        let (ow, pl, pr) = try ShapeRules.window(input: x.shape[3], kernel: k[1], stride: s[1], dilation: d[1], padBegin: p[1], padEnd: p[3], autoPad: ap, ceil: false, node)
        _ = (pb, pr)  // trailing pads only change the output size, already in oh/ow
        return ConvGeometry(cin: x.shape[1], h: x.shape[2], w: x.shape[3], cout: wShape[0], kh: k[0], kw: k[1], sh: s[0], sw: s[1],
                            ph: pt, pw: pl, dh: d[0], dw: d[1], oh: oh, ow: ow, group: group)
    }

    /// Sigmoid and Mul node indices when `name` feeds exactly x·sigmoid(x) and nothing else.
    func siluAfter(_ name: String) -> (sigmoid: Int, mul: Int)? {
        guard let users = soleConsumers(name), users.count == 2 else { return nil }
        let nodes = onnx.nodes
        guard let s = users.first(where: { nodes[$0].opType == "Sigmoid" }), let m = users.first(where: { nodes[$0].opType == "Mul" }),
              nodes[s].inputs == [name], let sigOut = nodes[s].outputs.first,
              Set(nodes[m].inputs) == [name, sigOut], nodes[m].inputs.count == 2,
              soleConsumers(sigOut) == [m] else { return nil }
        return (s, m)
    }

    /// The QuantizeLinear node index and its constant per-tensor parameters when `name` only feeds it.
    func quantizeAfter(_ name: String) throws -> (node: Int, params: QuantParams)? {
        guard let users = soleConsumers(name), users.count == 1 else { return nil }
        let n = onnx.nodes[users[0]]
        guard n.opType == "QuantizeLinear", n.inputs.first == name, let sn = n.input(1), let scale = consts[sn] else { return nil }
        let zp = n.input(2).flatMap { consts[$0] }
        if n.input(2) != nil && zp == nil { return nil }
        guard let p = try? QuantParams(scale: scale, zeroPoint: zp, axis: n.int("axis", 1), rank: 4, n), p.isPerTensor,
              p.dtype != .int32 else { return nil }
        return (users[0], p)
    }

    func emitConv(_ node: OnnxNode, _ idx: Int) throws {
        guard let xn = node.input(0), let wn = node.input(1) else { throw fail(node, "needs input and weights") }
        let xID = try runtimeValue(xn, node)
        guard let wT = consts[wn] else { throw fail(node, "weights must be constant") }
        let g = try convGeometry(node, x: values[xID], wShape: wT.shape)
        var bias: [Float]?
        if let bn = node.input(2) {
            guard let b = consts[bn], b.count == g.cout else { throw fail(node, "bias must be a constant of \(g.cout) values") }
            bias = b.asFloats
        }
        if let dq = dequantized[xID], let wq = constDequantized[wn], dq.params.isPerTensor, dq.params.dtype != .int32,
           wq.q.dtype == .int8, wq.params.zeroPoints.allSatisfy({ $0 == 0 }),
           wq.params.isPerTensor || (wq.params.axis == 0 && wq.params.scales.count == g.cout) {
            // An int32 bias quantized at the accumulator's scale (x_scale*w_scale) is used as integers, as
            // onnxruntime's QLinearConv does. onnxruntime ignores the bias's own scale even when it differs (its
            // quantizer writes such files when convs share a bias); we follow ONNX there: the float bias,
            // DequantizeLinear(int, scale), requantized to the accumulator's scale in emitQConv.
            var intBias: [Int]?
            if let bn = node.input(2), let bq = constDequantized[bn], bq.q.dtype == .int32, bq.q.count == g.cout,
               (0..<g.cout).allSatisfy({ c in
                   bq.params.scales[bq.params.isPerTensor ? 0 : c] == dq.params.scales[0] * wq.params.scales[wq.params.isPerTensor ? 0 : c]
               }) {
                let zps = bq.params.zeroPoints
                intBias = bq.q.ints.enumerated().map { Int($1) - zps[zps.count == 1 ? 0 : $0] }
            }
            try emitQConv(node, g, source: dq.source, xParams: dq.params, wq: wq.q, wParams: wq.params, bias: bias, intBias: intBias)
            return
        }
        guard values[xID].dtype == .float, wT.dtype.isFloat else { throw fail(node, "only float or QDQ-quantized Conv is supported") }
        var outName = node.outputs[0]
        var silu = false
        if let (s, m) = siluAfter(outName) { silu = true; absorbed.formUnion([s, m]); outName = onnx.nodes[m].outputs[0] }
        let y = addValue(outName, .float, [1, g.cout, g.oh, g.ow])
        let weights = wT.floats
        addStep(node, [xID], [y]) { i, o in
            ConvKernel(x: i[0], y: o[0], cin: g.cin, h: g.h, w: g.w, cout: g.cout, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw,
                       ph: g.ph, pw: g.pw, dh: g.dh, dw: g.dw, oh: g.oh, ow: g.ow, group: g.group, weights: weights, bias: bias, silu: silu)
        }
    }

    /// Conv whose input and weights come through DequantizeLinear: integer arithmetic on the quantized data.
    func emitQConv(_ node: OnnxNode, _ g: ConvGeometry, source: Int, xParams: QuantParams, wq: Tensor, wParams: QuantParams,
                   bias: [Float]?, intBias: [Int]?) throws {
        let k = g.cin / g.group * g.kh * g.kw
        let weights = wq.ints.map { Int8(truncatingIfNeeded: $0) }
        let xSigned = values[source].dtype == .int8
        let xzp = xParams.zeroPoints[0] + (xSigned ? 128 : 0)
        var comp = (0..<g.cout).map { c in -xzp * weights[(c * k)..<((c + 1) * k)].reduce(0) { $0 + Int($1) } }
        let dequant = (0..<g.cout).map { c in xParams.scales[0] * wParams.scales[wParams.isPerTensor ? 0 : c] }
        var mul = dequant
        let biasF = bias ?? [Float](repeating: 0, count: g.cout)

        var outName = node.outputs[0]
        var mode = 1
        var yParams: QuantParams?
        if let (qi, p) = try quantizeAfter(outName) {
            mode = 0; yParams = p; absorbed.insert(qi); outName = onnx.nodes[qi].outputs[0]
            // Requantize as onnxruntime's QLinearConv does: integer bias in the accumulator, then one float
            // multiply by x_scale*w_scale/y_scale. A float bias is first quantized to the accumulator's scale.
            let b = intBias ?? biasF.enumerated().map { c, v in
                let r = (v / dequant[c]).rounded(.toNearestOrEven)
                return r.isFinite ? Int(max(min(r, Float(Int32.max)), Float(Int32.min))) : 0
            }
            for c in 0..<g.cout { comp[c] += b[c] }
            mul = dequant.map { $0 / p.scales[0] }
        } else if let (s, m) = siluAfter(outName) {
            absorbed.formUnion([s, m])
            let mulOut = onnx.nodes[m].outputs[0]
            if let (qi, p) = try quantizeAfter(mulOut) {
                mode = 2; yParams = p; absorbed.insert(qi); outName = onnx.nodes[qi].outputs[0]
            } else { mode = 3; outName = mulOut }
        }
        let comp32 = comp.map { Int32(clamping: $0) }
        guard comp32.map({ Int($0) }) == comp else {
            throw fail(node, "zero-point and bias compensation overflows 32 bits")
        }
        let y = addValue(outName, yParams?.dtype ?? .float, [1, g.cout, g.oh, g.ow])
        let kernel = QConvKernel(x: 0, y: 0, shape: (g.cin, g.h, g.w, g.cout, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, g.group),
                                 xSigned: xSigned, xZeroPoint: xzp, weights: weights, comp: comp32, mul: mul, bias: biasF,
                                 outMode: mode, yScale: yParams?.scales[0] ?? 1, yZeroPoint: yParams?.zeroPoints[0] ?? 0,
                                 ySigned: yParams?.dtype == .int8, table: nil)
        let stepIndex = steps.count
        qconvs[stepIndex] = kernel
        addStep(node, [source], [y]) { [unowned self] i, o in
            guard let k = self.qconvs[stepIndex] else { throw EngineError("internal: integer conv \(stepIndex) lost") }
            return k.placed(x: i[0], y: o[0])
        }
    }

    func emitQuantize(_ node: OnnxNode) throws {
        let a = try runtimeValue(node.inputs[0], node)
        let v = values[a]
        guard v.dtype == .float else { throw fail(node, "input must be float") }
        guard let sn = node.input(1), let scale = consts[sn] else { throw fail(node, "scale must be constant") }
        let zp = try node.input(2).map { n -> Tensor in guard let t = consts[n] else { throw fail(node, "zero point must be constant") }; return t }
        guard node.int("block_size", 0) == 0 else { throw fail(node, "blocked quantization is not supported") }
        var p = try QuantParams(scale: scale, zeroPoint: zp, axis: node.int("axis", 1), rank: v.shape.count, node)
        if zp == nil, let t = node.attributes["output_dtype"]?.i, t != 0 {
            guard let d = DType(rawValue: Int(t)), d == .uint8 || d == .int8 else { throw fail(node, "output_dtype \(DType.name(ofONNX: Int(t))) is not supported") }
            p.dtype = d
        }
        guard p.dtype != .int32 else { throw fail(node, "int32 output is not supported") }
        let (outer, ch, inner) = p.isPerTensor ? (1, 1, v.count) : (v.shape[..<p.axis].reduce(1, *), v.shape[p.axis], v.shape[(p.axis + 1)...].reduce(1, *))
        guard p.isPerTensor || ch == p.scales.count else { throw fail(node, "\(p.scales.count) scales for axis of size \(ch)") }
        let y = addValue(node.outputs[0], p.dtype, v.shape)
        addStep(node, [a], [y]) { i, o in
            QuantizeKernel(x: i[0], y: o[0], outer: outer, channels: ch, inner: inner, scales: p.scales,
                           zeroPoints: p.zeroPoints.map { Int32($0) }, signed: p.dtype == .int8)
        }
    }

    func emitDequantize(_ node: OnnxNode, _ idx: Int) throws {
        let a = try runtimeValue(node.inputs[0], node)
        let v = values[a]
        guard [.uint8, .int8, .int32].contains(v.dtype) else { throw fail(node, "input type \(v.dtype.name) is not supported") }
        guard let sn = node.input(1), let scale = consts[sn] else { throw fail(node, "scale must be constant") }
        guard node.int("block_size", 0) == 0 else { throw fail(node, "blocked quantization is not supported") }
        let zp = try node.input(2).map { n -> Tensor in guard let t = consts[n] else { throw fail(node, "zero point must be constant") }; return t }
        var p = try QuantParams(scale: scale, zeroPoint: zp, axis: node.int("axis", 1), rank: v.shape.count, node)
        if zp == nil { p.dtype = v.dtype }
        guard p.dtype == v.dtype else { throw fail(node, "zero point type \(p.dtype.name) differs from input \(v.dtype.name)") }
        let outName = node.outputs[0]
        // SiLU between two quantized tensors: one byte table, fused into the producing integer conv if possible.
        if p.isPerTensor, v.dtype != .int32, let (s, m) = siluAfter(outName), let (qi, qp) = try quantizeAfter(onnx.nodes[m].outputs[0]) {
            absorbed.formUnion([s, m, qi])
            // DequantizeLinear, Sigmoid, Mul and QuantizeLinear in float exactly as onnxruntime runs them.
            let x: [Float] = (0..<256).map { b in
                let q = v.dtype == .int8 ? Int(Int8(bitPattern: UInt8(b))) : b
                return Float(q - p.zeroPoints[0]) * p.scales[0]
            }
            var sigmoid = [Float](repeating: 0, count: 256)
            ck_unary_f32(0, x, &sigmoid, 256, 0, 0)
            let table: [UInt8] = (0..<256).map { b in
                let r = qp.quantize(x[b] * sigmoid[b])
                return qp.dtype == .int8 ? UInt8(bitPattern: Int8(r)) : UInt8(r)
            }
            let finalName = onnx.nodes[qi].outputs[0]
            if let st = producer[a], var k = qconvs[st], k.outMode == 0, k.table == nil,
               soleConsumers(values[a].name) == [idx] {
                k.table = table
                qconvs[st] = k
                values[a].dtype = qp.dtype
                valueOf[finalName] = a
                return
            }
            let y = addValue(finalName, qp.dtype, v.shape)
            let n = v.count
            addStep(node, [a], [y]) { i, o in TableKernel(x: i[0], y: o[0], count: n, table: table) }
            return
        }
        let (outer, ch, inner) = p.isPerTensor ? (1, 1, v.count) : (v.shape[..<p.axis].reduce(1, *), v.shape[p.axis], v.shape[(p.axis + 1)...].reduce(1, *))
        guard p.isPerTensor || ch == p.scales.count else { throw fail(node, "\(p.scales.count) scales for axis of size \(ch)") }
        let y = addValue(outName, .float, v.shape)
        dequantized[y] = (a, p)
        if p.isPerTensor, v.dtype != .int32 {
            byteTables[y] = (a, (0..<256).map { b in Float((v.dtype == .int8 ? Int(Int8(bitPattern: UInt8(b))) : b) - p.zeroPoints[0]) * p.scales[0] })
        }
        let kind: Int32 = v.dtype == .uint8 ? 0 : (v.dtype == .int8 ? 1 : 2)
        addStep(node, [a], [y]) { i, o in
            DequantizeKernel(x: i[0], y: o[0], outer: outer, channels: ch, inner: inner, scales: p.scales,
                             zeroPoints: p.zeroPoints.map { Int32($0) }, kind: kind)
        }
    }
}
