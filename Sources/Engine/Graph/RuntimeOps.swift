import Foundation

/// Shape inference and kernel choice for every op the engine runs on frame data.
extension GraphBuilder {
    static let unaryCodes: [String: Int32] = [
        "Sigmoid": 0, "Relu": 2, "Tanh": 3, "Exp": 4, "Log": 5, "Sqrt": 6, "Neg": 7, "Abs": 8, "Erf": 9,
        "Floor": 10, "Ceil": 11, "Reciprocal": 12, "HardSwish": 13, "Identity": 15, "LeakyRelu": 16, "Clip": 17,
        "HardSigmoid": 18, "Gelu": 14,
    ]
    static let binaryCodes: [String: Int32] = ["Add": 0, "Sub": 1, "Mul": 2, "Div": 3, "Pow": 4, "Max": 5, "Min": 6]
    static let movementOps: Set<String> = ["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose",
                                           "Concat", "Split", "Slice", "Gather", "Expand"]

    func emitRuntime(_ node: OnnxNode, _ idx: Int) throws {
        let op = node.opType
        if try emitOnBytes(node, idx) { return }
        func x(_ i: Int = 0) throws -> Int {
            guard let name = node.input(i) else { throw fail(node, "input \(i) is required") }
            return try runtimeValue(name, node)
        }
        func constant(_ i: Int) throws -> Tensor? {
            guard let name = node.input(i) else { return nil }
            guard let t = consts[name] else { throw fail(node, "input \(i) ('\(name)') must be a constant (computed at run time here)") }
            return t
        }
        func out(_ dtype: DType, _ shape: [Int], _ i: Int = 0) throws -> Int {
            guard i < node.outputs.count, !node.outputs[i].isEmpty else { throw fail(node, "output \(i) is missing") }
            return addValue(node.outputs[i], dtype, shape)
        }
        func requireFloat(_ id: Int) throws {
            guard values[id].dtype == .float else { throw fail(node, "input '\(values[id].name)' is \(values[id].dtype.name); only float32 is supported here") }
        }

        if Self.movementOps.contains(op) {
            try emitMovement(node, try x())
            return
        }
        if let code = Self.unaryCodes[op] {
            let a = try x(); try requireFloat(a)
            var alpha: Float = 0, beta: Float = 0
            switch op {
            case "LeakyRelu": alpha = node.float("alpha", 0.01)
            case "HardSigmoid": alpha = node.float("alpha", 0.2); beta = node.float("beta", 0.5)
            case "Clip":
                if opset >= 11 {
                    alpha = try constant(1)?.asFloats.first ?? -Float.greatestFiniteMagnitude
                    beta = try constant(2)?.asFloats.first ?? Float.greatestFiniteMagnitude
                } else { alpha = node.float("min", -Float.greatestFiniteMagnitude); beta = node.float("max", Float.greatestFiniteMagnitude) }
            case "Gelu": guard node.string("approximate", "none") == "none" else { throw fail(node, "approximate=tanh is not supported") }
            default: break
            }
            let n = values[a].count
            let y = try out(.float, values[a].shape)
            addStep(node, [a], [y]) { i, o in UnaryKernel(op: code, x: i[0], y: o[0], count: n, alpha: alpha, beta: beta) }
            return
        }
        if let code = Self.binaryCodes[op] {
            guard node.inputs.count == 2 else { throw fail(node, "\(op) with \(node.inputs.count) inputs is not supported (only 2)") }
            var operands: [(id: Int?, t: Tensor?, shape: [Int])] = []
            for i in 0..<2 {
                guard let name = node.input(i) else { throw fail(node, "input \(i) is required") }
                if let id = valueOf[name] { try requireFloat(id); operands.append((id, nil, values[id].shape)) } else if let t = consts[name] {
                    guard t.dtype.isFloat else { throw fail(node, "integer tensors are only supported in shape arithmetic") }
                    operands.append((nil, t, t.shape))
                } else { throw fail(node, "input '\(name)' is missing") }
            }
            guard let shape = broadcastShapes(operands[0].shape, operands[1].shape) else {
                throw fail(node, "shapes \(operands[0].shape) and \(operands[1].shape) do not broadcast")
            }
            let sa = broadcastStrides(operands[0].shape, to: shape).map { Int64($0) }
            let sb = broadcastStrides(operands[1].shape, to: shape).map { Int64($0) }
            let y = try out(.float, shape)
            let runtimeIns = operands.compactMap { $0.id }
            let consts = operands.map { $0.t?.floats }
            addStep(node, runtimeIns, [y]) { i, o in
                var it = i.makeIterator()
                let a: FloatOperand = consts[0].map { .constant($0) } ?? .arena(it.next()!)
                let b: FloatOperand = consts[1].map { .constant($0) } ?? .arena(it.next()!)
                return BinaryKernel(op: code, a: a, b: b, y: o[0], aStrides: sa, bStrides: sb, shape: shape.map { Int64($0) })
            }
            return
        }
        switch op {
        case "Conv": try emitConv(node, idx)
        case "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool": try emitPool(node)
        case "Resize", "Upsample": try emitResize(node)
        case "Softmax", "LogSoftmax":
            let a = try x(); try requireFloat(a)
            let shape = values[a].shape
            let axis = try normalizeAxis(node.int("axis", opset >= 13 ? -1 : 1), rank: shape.count, node)
            let outer = shape[..<axis].reduce(1, *)
            let (n, inner) = opset >= 13 ? (shape[axis], shape[(axis + 1)...].reduce(1, *)) : (shape[axis...].reduce(1, *), 1)
            let y = try out(.float, shape)
            addStep(node, [a], [y]) { i, o in SoftmaxKernel(x: i[0], y: o[0], outer: outer, n: n, inner: inner, log: op == "LogSoftmax") }
        case "MatMul": try emitMatMul(node)
        case "Cast":
            let a = try x()
            guard node.int("to", 1) == 1, values[a].dtype == .float else { throw fail(node, "only float→float Cast runs at run time") }
            let y = try out(.float, values[a].shape)
            let bytes = values[a].bytes
            addStep(node, [a], [y]) { i, o in CopyKernel(src: i[0], dst: o[0], bytes: bytes) }
        case "QuantizeLinear": try emitQuantize(node)
        case "DequantizeLinear": try emitDequantize(node, idx)
        default:
            throw fail(node, "unsupported op")
        }
    }

    // MARK: data movement (any element type)

    func emitMovement(_ node: OnnxNode, _ a: Int) throws {
        let v = values[a]
        let elem = v.dtype.runtimeSize
        let st = stridesOf(v.shape)
        func constInts(_ i: Int) throws -> [Int64]? {
            guard let name = node.input(i) else { return nil }
            guard let t = consts[name] else { throw fail(node, "input \(i) must be a constant") }
            return t.asInts
        }
        func reshape(_ shape: [Int]) throws {
            let y = addValue(node.outputs[0], v.dtype, shape)
            let bytes = v.bytes
            addStep(node, [a], [y]) { i, o in CopyKernel(src: i[0], dst: o[0], bytes: bytes) }
        }
        func strided(_ outs: [(name: String, shape: [Int], srcOffset: Int, srcStrides: [Int])]) {
            let ys = outs.map { addValue($0.name, v.dtype, $0.shape) }
            addStep(node, [a], ys) { i, o in
                StridedCopyKernel(parts: outs.enumerated().map { k, p in
                    StridedPart(src: i[0] + p.srcOffset * elem, srcStrides: p.srcStrides.map { Int64($0) }, dst: o[k],
                                dstStrides: stridesOf(p.shape).map { Int64($0) }, shape: p.shape.map { Int64($0) })
                }, elem: elem)
            }
        }
        switch node.opType {
        case "Identity", "Dropout": try reshape(v.shape)
        case "Reshape":
            guard let target = try constInts(1) else { throw fail(node, "shape input is required") }
            try reshape(try ConstantFolder.reshapeTarget(v.shape, target, allowZero: node.int("allowzero", 0) != 0, node))
        case "Flatten":
            var axis = node.int("axis", 1); if axis < 0 { axis += v.shape.count }
            guard axis >= 0, axis <= v.shape.count else { throw fail(node, "axis out of range") }
            try reshape([v.shape[..<axis].reduce(1, *), v.shape[axis...].reduce(1, *)])
        case "Squeeze", "Unsqueeze":
            let axes = opset >= 13 ? try constInts(1)?.map { Int($0) } : node.ints("axes")
            try reshape(try ShapeRules.squeezeUnsqueeze(node.opType, v.shape, axes, node))
        case "Transpose":
            let perm = node.ints("perm") ?? Array((0..<v.shape.count).reversed())
            let shape = try ShapeRules.transposed(v.shape, perm, node)
            strided([(node.outputs[0], shape, 0, perm.map { st[$0] })])
        case "Expand":
            guard let target = try constInts(1), let shape = broadcastShapes(v.shape, target.map { Int($0) }) else {
                throw fail(node, "shapes do not broadcast")
            }
            strided([(node.outputs[0], shape, 0, broadcastStrides(v.shape, to: shape))])
        case "Slice":
            let starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?
            if opset >= 10 {
                guard let s = try constInts(1), let e = try constInts(2) else { throw fail(node, "starts and ends are required") }
                starts = s; ends = e; axes = try constInts(3); steps = try constInts(4)
            } else {
                starts = (node.ints("starts") ?? []).map { Int64($0) }; ends = (node.ints("ends") ?? []).map { Int64($0) }
                axes = node.ints("axes").map { $0.map { Int64($0) } }; steps = nil
            }
            let p = try ConstantFolder.sliceParams(shape: v.shape, starts: starts, ends: ends, axes: axes, steps: steps, node)
            let offset = (0..<p.count).reduce(0) { $0 + (p[$1].count > 0 ? p[$1].start * st[$1] : 0) }
            strided([(node.outputs[0], p.map { $0.count }, offset, (0..<p.count).map { st[$0] * p[$0].step })])
        case "Split":
            let axis = try normalizeAxis(node.int("axis", 0), rank: v.shape.count, node, scalarAllowed: false)
            let n = node.outputs.count
            var sizes = try constInts(1)?.map { Int($0) } ?? node.ints("split") ?? []
            if sizes.isEmpty {
                let parts = node.int("num_outputs", n)
                let chunk = (v.shape[axis] + parts - 1) / max(parts, 1)
                sizes = (0..<n).map { min(chunk, max(0, v.shape[axis] - $0 * chunk)) }
            }
            guard sizes.count == n, sizes.reduce(0, +) == v.shape[axis], sizes.allSatisfy({ $0 >= 0 }) else {
                throw fail(node, "split sizes \(sizes) do not match axis size \(v.shape[axis])")
            }
            var start = 0
            var outs: [(String, [Int], Int, [Int])] = []
            for (k, s) in sizes.enumerated() {
                var shape = v.shape; shape[axis] = s
                outs.append((node.outputs[k], shape, start * st[axis], st)); start += s
            }
            strided(outs)
        case "Gather":
            guard let idxT = node.input(1).flatMap({ consts[$0] }) else { throw fail(node, "indices must be constant") }
            let axis = try normalizeAxis(node.int("axis", 0), rank: v.shape.count, node, scalarAllowed: false)
            let dim = v.shape[axis], inner = v.shape[(axis + 1)...].reduce(1, *), outer = v.shape[..<axis].reduce(1, *)
            let indices = try idxT.asInts.map { j -> Int in
                let k = j < 0 ? Int(j) + dim : Int(j)
                guard k >= 0, k < dim else { throw fail(node, "index \(j) out of range") }
                return k
            }
            let shape = Array(v.shape[..<axis]) + idxT.shape + Array(v.shape[(axis + 1)...])
            let y = addValue(node.outputs[0], v.dtype, shape)
            let nIdx = indices.count
            addStep(node, [a], [y]) { i, o in
                StridedCopyKernel(parts: indices.enumerated().map { j, k in
                    StridedPart(src: i[0] + k * inner * elem, srcStrides: [Int64(dim * inner), 1], dst: o[0] + j * inner * elem,
                                dstStrides: [Int64(nIdx * inner), 1], shape: [Int64(outer), Int64(inner)])
                }, elem: elem)
            }
        case "Concat":
            let ids = try node.inputs.filter { !$0.isEmpty }.map { try runtimeValue($0, node) }
            let axis = try normalizeAxis(node.int("axis", 0), rank: v.shape.count, node, scalarAllowed: false)
            var shape = v.shape; shape[axis] = 0
            for id in ids {
                let s = values[id].shape
                guard s.count == v.shape.count, values[id].dtype == v.dtype,
                      (0..<s.count).allSatisfy({ $0 == axis || s[$0] == v.shape[$0] }) else {
                    throw fail(node, "input shapes/types \(ids.map { values[$0].shape }) do not concatenate on axis \(axis)")
                }
                shape[axis] += s[axis]
            }
            let y = addValue(node.outputs[0], v.dtype, shape)
            let ost = stridesOf(shape)
            let inShapes = ids.map { values[$0].shape }
            addStep(node, ids, [y]) { i, o in
                var start = 0
                var parts: [StridedPart] = []
                for (k, s) in inShapes.enumerated() {
                    parts.append(StridedPart(src: i[k], srcStrides: stridesOf(s).map { Int64($0) }, dst: o[0] + start * ost[axis] * elem,
                                             dstStrides: ost.map { Int64($0) }, shape: s.map { Int64($0) }))
                    start += s[axis]
                }
                return StridedCopyKernel(parts: parts, elem: elem)
            }
            // Nothing before the axis but ones (batch 1, channels): each input is one block of the output.
            if shape[..<axis].allSatisfy({ $0 == 1 }), Set(ids).count == ids.count {
                var start = 0
                steps[steps.count - 1].views = inShapes.map { s in defer { start += s[axis] }; return start * ost[axis] * elem }
            }
        default: throw fail(node, "unsupported op")
        }
    }

    // MARK: pooling, resize, matmul

    /// Pooling; `bytes` lets a MaxPool read a u8/s8 value (its kernel is then made a BytePoolKernel).
    func emitPool(_ node: OnnxNode, bytes: Bool = false) throws {
        let a = try runtimeValue(node.inputs[0], node)
        let v = values[a]
        guard v.dtype == .float || bytes && (v.dtype == .uint8 || v.dtype == .int8), v.shape.count == 4 else { throw fail(node, "only 2-D float pooling (NCHW) is supported") }
        guard node.outputs.count == 1 else { throw fail(node, "the Indices output is not supported") }
        let (h, w) = (v.shape[2], v.shape[3])
        let global = node.opType.hasPrefix("Global")
        let k = global ? [h, w] : (node.ints("kernel_shape") ?? [])
        guard k.count == 2 else { throw fail(node, "kernel_shape must have 2 values") }
        let s = global ? [1, 1] : (node.ints("strides") ?? [1, 1])
        let d = global ? [1, 1] : (node.ints("dilations") ?? [1, 1])
        let p = global ? [0, 0, 0, 0] : (node.ints("pads") ?? [0, 0, 0, 0])
        guard s.count == 2, d.count == 2, p.count == 4 else { throw fail(node, "strides/dilations/pads have the wrong length") }
        guard node.int("storage_order", 0) == 0 else { throw fail(node, "storage_order=1 is not supported") }
        if node.opType == "AveragePool" && d != [1, 1] { throw fail(node, "dilated AveragePool is not supported") }
        let ceil = node.int("ceil_mode", 0) != 0
        let ap = global ? "NOTSET" : node.string("auto_pad", "NOTSET")
        let (oh, pt, _) = try ShapeRules.window(input: h, kernel: k[0], stride: s[0], dilation: d[0], padBegin: p[0], padEnd: p[2], autoPad: ap, ceil: ceil, node)
        let (ow, pl, _) = try ShapeRules.window(input: w, kernel: k[1], stride: s[1], dilation: d[1], padBegin: p[1], padEnd: p[3], autoPad: ap, ceil: ceil, node)
        let isMax = node.opType.hasSuffix("MaxPool")
        let cip = node.int("count_include_pad", 0) != 0
        let y = addValue(node.outputs[0], .float, [v.shape[0], v.shape[1], oh, ow])
        let planes = v.shape[0] * v.shape[1]
        addStep(node, [a], [y]) { i, o in
            PoolKernel(x: i[0], y: o[0], planes: planes, h: h, w: w, kh: k[0], kw: k[1], sh: s[0], sw: s[1], pt: pt, pl: pl,
                       dh: d[0], dw: d[1], oh: oh, ow: ow, isMax: isMax, countIncludePad: cip)
        }
    }

    func emitResize(_ node: OnnxNode) throws {
        let a = try runtimeValue(node.inputs[0], node)
        let v = values[a]
        guard node.string("mode", "nearest") == "nearest" else { throw fail(node, "mode '\(node.string("mode", ""))' is not supported (only nearest)") }
        guard v.shape.count >= 2 else { throw fail(node, "rank must be at least 2") }
        var scales: [Float]?, sizes: [Int]?
        if node.opType == "Upsample" || opset < 11 {
            scales = try (node.input(1).map { n -> [Float] in
                guard let t = consts[n] else { throw fail(node, "scales must be constant") }
                return t.asFloats
            }) ?? node.attributes["scales"]?.floats
        } else {
            if let n = node.input(3) { guard let t = consts[n] else { throw fail(node, "sizes must be constant") }; sizes = t.asInts.map { Int($0) } }
            if sizes == nil, let n = node.input(2) { guard let t = consts[n] else { throw fail(node, "scales must be constant") }; scales = t.asFloats }
        }
        if let axes = node.ints("axes") {
            let rank = v.shape.count
            var fullScales = [Float](repeating: 1, count: rank), fullSizes = v.shape
            for (j, ax) in axes.enumerated() {
                let a2 = try normalizeAxis(ax, rank: rank, node)
                if let s = scales, j < s.count { fullScales[a2] = s[j] }
                if let s = sizes, j < s.count { fullSizes[a2] = s[j] }
            }
            if scales != nil { scales = fullScales }; if sizes != nil { sizes = fullSizes }
        }
        let rank = v.shape.count
        let outShape: [Int]
        var effScales: [Double]
        if let sizes {
            guard sizes.count == rank else { throw fail(node, "sizes has \(sizes.count) values for rank \(rank)") }
            if node.string("keep_aspect_ratio_policy", "stretch") != "stretch" { throw fail(node, "keep_aspect_ratio_policy is not supported") }
            outShape = sizes
            effScales = (0..<rank).map { Double(sizes[$0]) / Double(v.shape[$0]) }
        } else if let scales, !scales.isEmpty {
            guard scales.count == rank else { throw fail(node, "scales has \(scales.count) values for rank \(rank)") }
            outShape = (0..<rank).map { Int((Double(v.shape[$0]) * Double(scales[$0])).rounded(.down)) }
            effScales = scales.map { Double($0) }
        } else { throw fail(node, "needs scales or sizes") }
        for d in 0..<(rank - 2) where outShape[d] != v.shape[d] { throw fail(node, "only the last two axes may be resized") }
        guard outShape.allSatisfy({ $0 > 0 }) else { throw fail(node, "empty output") }
        let ctm = node.string("coordinate_transformation_mode", "half_pixel")
        let nm = node.string("nearest_mode", "round_prefer_floor")
        func table(_ inSize: Int, _ outSize: Int, _ scale: Double) throws -> [Int32] {
            try (0..<outSize).map { o -> Int32 in
                let x: Double
                switch ctm {
                case "half_pixel": x = (Double(o) + 0.5) / scale - 0.5
                case "pytorch_half_pixel": x = outSize > 1 ? (Double(o) + 0.5) / scale - 0.5 : 0
                case "asymmetric": x = Double(o) / scale
                case "align_corners": x = outSize > 1 ? Double(o) * Double(inSize - 1) / Double(outSize - 1) : 0
                case "tf_half_pixel_for_nearest": x = (Double(o) + 0.5) / scale
                default: throw fail(node, "coordinate_transformation_mode '\(ctm)' is not supported")
                }
                var i: Double
                switch nm {
                case "round_prefer_floor": i = x == x.rounded(.down) + 0.5 ? x.rounded(.down) : x.rounded()
                case "round_prefer_ceil": i = x.rounded()
                case "floor": i = x.rounded(.down)
                case "ceil": i = x.rounded(.up)
                default: throw fail(node, "nearest_mode '\(nm)' is not supported")
                }
                i = min(max(i, 0), Double(inSize - 1))
                return Int32(i)
            }
        }
        let (h, w) = (v.shape[rank - 2], v.shape[rank - 1]), (oh, ow) = (outShape[rank - 2], outShape[rank - 1])
        let rows = try table(h, oh, effScales[rank - 2]), cols = try table(w, ow, effScales[rank - 1])
        let y = addValue(node.outputs[0], v.dtype, outShape)
        let planes = v.shape[..<(rank - 2)].reduce(1, *)
        let elem = v.dtype.runtimeSize
        guard elem == 1 || elem == 4 else { throw fail(node, "element type \(v.dtype.name) is not supported") }
        addStep(node, [a], [y]) { i, o in ResizeNearestKernel(x: i[0], y: o[0], planes: planes, h: h, w: w, oh: oh, ow: ow, elem: elem, rows: rows, cols: cols) }
    }

    func emitMatMul(_ node: OnnxNode) throws {
        guard let an = node.input(0), let bn = node.input(1) else { throw fail(node, "needs two inputs") }
        let a = try runtimeValue(an, node)
        let av = values[a]
        let bShape: [Int], bConst: Tensor?, bID: Int?
        if let id = valueOf[bn] { bShape = values[id].shape; bConst = nil; bID = id } else if let t = consts[bn] { bShape = t.shape; bConst = t; bID = nil } else {
            throw fail(node, "input '\(bn)' is missing")
        }
        guard av.dtype == .float, bConst?.dtype.isFloat ?? (values[bID!].dtype == .float) else { throw fail(node, "only float MatMul is supported") }
        guard av.shape.count >= 2, bShape.count >= 2 else { throw fail(node, "1-D MatMul operands are not supported") }
        let m = av.shape[av.shape.count - 2], k = av.shape.last!, n = bShape.last!
        guard bShape[bShape.count - 2] == k else { throw fail(node, "inner dimensions \(av.shape) × \(bShape) differ") }
        let aBatch = Array(av.shape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
        guard let batch = broadcastShapes(aBatch, bBatch) else { throw fail(node, "batch shapes do not broadcast") }
        let ai = ConstantFolder.broadcastIndices(aBatch, to: batch).map { $0 * m * k }
        let bi = ConstantFolder.broadcastIndices(bBatch, to: batch).map { $0 * k * n }
        // DequantizeLinear on both operands and QuantizeLinear after: integer arithmetic, as QLinearMatMul.
        if let bID, let da = dequantized[a], let db = dequantized[bID], da.params.isPerTensor, db.params.isPerTensor,
           da.params.dtype != .int32, db.params.dtype != .int32, let (qi, qp) = try quantizeAfter(node.outputs[0]) {
            absorbed.insert(qi)
            let y = addValue(onnx.nodes[qi].outputs[0], qp.dtype, batch + [m, n])
            let multiplier = da.params.scales[0] * db.params.scales[0] / qp.scales[0]
            addStep(node, [da.source, db.source], [y]) { i, o in
                QMatMulKernel(a: i[0], b: i[1], y: o[0], m: m, k: k, n: n, aOffsets: ai, bOffsets: bi,
                              aSigned: da.params.dtype == .int8, aZeroPoint: da.params.zeroPoints[0],
                              bSigned: db.params.dtype == .int8, bZeroPoint: db.params.zeroPoints[0],
                              multiplier: multiplier, yZeroPoint: qp.zeroPoints[0], ySigned: qp.dtype == .int8)
            }
            return
        }
        let y = addValue(node.outputs[0], .float, batch + [m, n])
        let bFloats = bConst?.floats
        addStep(node, bID == nil ? [a] : [a, bID!], [y]) { i, o in
            MatMulKernel(a: i[0], b: bFloats.map { .constant($0) } ?? .arena(i[1]), y: o[0], m: m, k: k, n: n, aOffsets: ai, bOffsets: bi)
        }
    }
}
