import Foundation

/// Evaluates nodes whose inputs are all known at load time (shape arithmetic, Constant, weight
/// DequantizeLinear...), so that the run-time graph holds only work that depends on the frame.
enum ConstantFolder {
    /// Ops the folder can evaluate.
    static let foldable: Set<String> = [
        "Constant", "Identity", "Gather", "Concat", "Unsqueeze", "Squeeze", "Reshape", "Flatten", "Cast",
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less", "Greater", "Where", "Not", "Slice",
        "Range", "ConstantOfShape", "Expand", "Transpose", "Floor", "Ceil", "Sqrt", "Neg", "Abs", "Size",
        "DequantizeLinear", "Sigmoid", "ReduceProd",
    ]

    /// Flat indices into a tensor of `shape` read when broadcasting it to `to`.
    static func broadcastIndices(_ shape: [Int], to: [Int]) -> [Int] {
        let st = broadcastStrides(shape, to: to)
        let n = to.reduce(1, *)
        var out = [Int](repeating: 0, count: n)
        var idx = [Int](repeating: 0, count: to.count)
        var off = 0
        for i in 0..<n {
            out[i] = off
            var d = to.count - 1
            while d >= 0 {
                idx[d] += 1; off += st[d]
                if idx[d] < to[d] { break }
                off -= st[d] * idx[d]; idx[d] = 0; d -= 1
            }
        }
        return out
    }

    /// Gathers elements of `t` by flat indices into a tensor of `shape`.
    static func take(_ t: Tensor, _ indices: [Int], shape: [Int]) -> Tensor {
        t.dtype.isFloat ? Tensor(dtype: t.dtype, shape: shape, floats: indices.map { t.floats[$0] })
            : Tensor(dtype: t.dtype, shape: shape, ints: indices.map { t.ints[$0] })
    }

    static func elementwise(_ a: Tensor, _ b: Tensor, _ node: OnnxNode, outType: DType? = nil,
                            _ f: (Double, Double) -> Double) throws -> Tensor {
        guard let shape = broadcastShapes(a.shape, b.shape) else {
            throw EngineError("\(node.label): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let ia = broadcastIndices(a.shape, to: shape), ib = broadcastIndices(b.shape, to: shape)
        let t = outType ?? a.dtype
        if t.isFloat { return Tensor(dtype: t, shape: shape, floats: (0..<ia.count).map { Float(f(a.value(ia[$0]), b.value(ib[$0]))) }) }
        return Tensor(dtype: t, shape: shape, ints: (0..<ia.count).map { i in
            let v = f(a.value(ia[i]), b.value(ib[i]))
            return v.isFinite ? Int64(max(min(v, 9.2e18), -9.2e18)) : 0
        })
    }

    /// Output shape of Reshape given the target (0 copies, -1 infers).
    static func reshapeTarget(_ input: [Int], _ target: [Int64], allowZero: Bool, _ node: OnnxNode) throws -> [Int] {
        var out: [Int] = []
        var infer = -1
        for (i, d) in target.enumerated() {
            if d == 0 && !allowZero {
                guard i < input.count else { throw EngineError("\(node.label): reshape 0 at axis \(i) beyond input rank") }
                out.append(input[i])
            } else if d == -1 {
                guard infer < 0 else { throw EngineError("\(node.label): more than one -1 in reshape target") }
                infer = i; out.append(1)
            } else {
                guard d >= 0 else { throw EngineError("\(node.label): invalid reshape dimension \(d)") }
                out.append(Int(d))
            }
        }
        let total = input.reduce(1, *)
        if infer >= 0 {
            let known = out.reduce(1, *)
            guard known > 0, total % known == 0 else { throw EngineError("\(node.label): cannot reshape \(input) to \(target)") }
            out[infer] = total / known
        }
        guard out.reduce(1, *) == total else { throw EngineError("\(node.label): cannot reshape \(input) to \(target)") }
        return out
    }

    /// Resolved slice parameters per axis: start, step, count.
    static func sliceParams(shape: [Int], starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?,
                            _ node: OnnxNode) throws -> [(start: Int, step: Int, count: Int)] {
        var params = shape.map { (start: 0, step: 1, count: $0) }
        let ax = axes ?? (0..<starts.count).map { Int64($0) }
        guard starts.count == ends.count, ax.count == starts.count, (steps?.count ?? starts.count) == starts.count else {
            throw EngineError("\(node.label): starts/ends/axes/steps lengths differ")
        }
        for i in 0..<starts.count {
            let a = try normalizeAxis(Int(clamping: ax[i]), rank: shape.count, node)
            let dim = Int64(shape[a])
            let step = steps?[i] ?? 1
            guard step != 0 else { throw EngineError("\(node.label): slice step 0") }
            var s = starts[i], e = ends[i]
            if s < 0 { s += dim }
            if e < 0 { e += dim }
            let count: Int64
            if step > 0 {
                s = max(0, min(s, dim)); e = max(0, min(e, dim))
                count = e > s ? (e - s + step - 1) / step : 0
            } else {
                s = max(-1, min(s, dim - 1)); e = max(-1, min(e, dim - 1))
                count = s > e ? (s - e + (-step) - 1) / (-step) : 0
            }
            params[a] = (Int(s), Int(step), Int(count))
        }
        return params
    }

    /// Evaluates `node` on constant inputs; nil inputs are absent optional inputs.
    static func evaluate(_ node: OnnxNode, _ inputs: [Tensor?], opset: Int) throws -> [Tensor] {
        func req(_ i: Int) throws -> Tensor {
            guard i < inputs.count, let t = inputs[i] else { throw EngineError("\(node.label): missing input \(i)") }
            return t
        }
        switch node.opType {
        case "Constant":
            if let t = node.attributes["value"]?.t { return [t] }
            if let f = node.attributes["value_float"]?.f { return [Tensor(dtype: .float, shape: [], floats: [f])] }
            if let a = node.attributes["value_floats"] { return [Tensor(dtype: .float, shape: [a.floats.count], floats: a.floats)] }
            if let i = node.attributes["value_int"]?.i { return [Tensor(dtype: .int64, shape: [], ints: [i])] }
            if let a = node.attributes["value_ints"] { return [Tensor(dtype: .int64, shape: [a.ints.count], ints: a.ints)] }
            throw EngineError("\(node.label): unsupported Constant form (sparse or string)")
        case "Identity": return [try req(0)]
        case "Size": return [Tensor(dtype: .int64, shape: [], ints: [Int64(try req(0).count)])]
        case "Cast":
            guard let to = DType(rawValue: node.int("to", 1)) else {
                throw EngineError("\(node.label): cast to unsupported type \(DType.name(ofONNX: node.int("to", 1)))")
            }
            return [try req(0).cast(to: to)]
        case "Gather":
            let data = try req(0), idx = try req(1)
            let axis = try normalizeAxis(node.int("axis", 0), rank: data.shape.count, node, scalarAllowed: false)
            let outer = data.shape[..<axis].reduce(1, *), dim = data.shape[axis], inner = data.shape[(axis + 1)...].reduce(1, *)
            var flat: [Int] = []
            for o in 0..<outer { for j in idx.asInts {
                var k = Int(j); if k < 0 { k += dim }
                guard k >= 0, k < dim else { throw EngineError("\(node.label): index \(j) out of range") }
                for i in 0..<inner { flat.append((o * dim + k) * inner + i) }
            } }
            return [take(data, flat, shape: Array(data.shape[..<axis]) + idx.shape + Array(data.shape[(axis + 1)...]))]
        case "Concat":
            let ts = try (0..<inputs.count).map { try req($0) }
            guard let first = ts.first else { throw EngineError("\(node.label): no inputs") }
            let axis = try normalizeAxis(node.int("axis", 0), rank: first.shape.count, node, scalarAllowed: false)
            var shape = first.shape; shape[axis] = 0
            for t in ts {
                guard t.shape.count == first.shape.count else { throw EngineError("\(node.label): rank mismatch") }
                shape[axis] += t.shape[axis]
            }
            let outer = first.shape[..<axis].reduce(1, *)
            var floats: [Float] = [], ints: [Int64] = []
            for o in 0..<outer { for t in ts {
                let chunk = t.shape[axis...].reduce(1, *)
                if first.dtype.isFloat { floats += t.asFloats[(o * chunk)..<((o + 1) * chunk)] } else { ints += t.asInts[(o * chunk)..<((o + 1) * chunk)] }
            } }
            return [first.dtype.isFloat ? Tensor(dtype: first.dtype, shape: shape, floats: floats) : Tensor(dtype: first.dtype, shape: shape, ints: ints)]
        case "Unsqueeze", "Squeeze":
            var t = try req(0)
            let axes = opset >= 13 ? (inputs.count > 1 ? inputs[1]?.asInts.map { Int($0) } : nil) : node.ints("axes")
            t.shape = try ShapeRules.squeezeUnsqueeze(node.opType, t.shape, axes, node)
            return [t]
        case "Reshape":
            var t = try req(0)
            t.shape = try reshapeTarget(t.shape, try req(1).asInts, allowZero: node.int("allowzero", 0) != 0, node)
            return [t]
        case "Flatten":
            var t = try req(0)
            let axis = node.int("axis", 1) < 0 ? node.int("axis", 1) + t.shape.count : node.int("axis", 1)
            guard axis >= 0, axis <= t.shape.count else { throw EngineError("\(node.label): axis out of range") }
            t.shape = [t.shape[..<axis].reduce(1, *), t.shape[axis...].reduce(1, *)]
            return [t]
        case "Add": return [try elementwise(try req(0), try req(1), node) { $0 + $1 }]
        case "Sub": return [try elementwise(try req(0), try req(1), node) { $0 - $1 }]
        case "Mul": return [try elementwise(try req(0), try req(1), node) { $0 * $1 }]
        case "Div":
            let a = try req(0)
            if a.dtype.isFloat { return [try elementwise(a, try req(1), node) { $0 / $1 }] }
            return [try elementwise(a, try req(1), node) { $1 == 0 ? 0 : ($0 / $1).rounded(.towardZero) }]
        case "Pow": return [try elementwise(try req(0), try req(1), node) { pow($0, $1) }]
        case "Max", "Min":
            var acc = try req(0)
            for i in 1..<max(inputs.count, 1) {
                acc = try elementwise(acc, try req(i), node) { node.opType == "Max" ? max($0, $1) : min($0, $1) }
            }
            return [acc]
        case "Equal": return [try elementwise(try req(0), try req(1), node, outType: .bool) { $0 == $1 ? 1 : 0 }]
        case "Less": return [try elementwise(try req(0), try req(1), node, outType: .bool) { $0 < $1 ? 1 : 0 }]
        case "Greater": return [try elementwise(try req(0), try req(1), node, outType: .bool) { $0 > $1 ? 1 : 0 }]
        case "Not": let t = try req(0); return [Tensor(dtype: .bool, shape: t.shape, ints: t.ints.map { $0 == 0 ? 1 : 0 })]
        case "Where":
            let c = try req(0), x = try req(1), y = try req(2)
            guard let s1 = broadcastShapes(c.shape, x.shape), let shape = broadcastShapes(s1, y.shape) else {
                throw EngineError("\(node.label): shapes do not broadcast")
            }
            let ic = broadcastIndices(c.shape, to: shape), ix = broadcastIndices(x.shape, to: shape), iy = broadcastIndices(y.shape, to: shape)
            if x.dtype.isFloat {
                return [Tensor(dtype: x.dtype, shape: shape, floats: (0..<ic.count).map { c.ints[ic[$0]] != 0 ? x.floats[ix[$0]] : y.asFloats[iy[$0]] })]
            }
            return [Tensor(dtype: x.dtype, shape: shape, ints: (0..<ic.count).map { c.ints[ic[$0]] != 0 ? x.ints[ix[$0]] : y.asInts[iy[$0]] })]
        case "Slice":
            let data = try req(0)
            let starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?
            if opset >= 10 {
                starts = try req(1).asInts; ends = try req(2).asInts
                axes = inputs.count > 3 ? inputs[3]?.asInts : nil; steps = inputs.count > 4 ? inputs[4]?.asInts : nil
            } else {
                starts = (node.ints("starts") ?? []).map { Int64($0) }; ends = (node.ints("ends") ?? []).map { Int64($0) }
                axes = node.ints("axes").map { $0.map { Int64($0) } }; steps = nil
            }
            let p = try sliceParams(shape: data.shape, starts: starts, ends: ends, axes: axes, steps: steps, node)
            let st = stridesOf(data.shape)
            let shape = p.map { $0.count }
            var flat: [Int] = []
            let n = shape.reduce(1, *)
            flat.reserveCapacity(n)
            var idx = [Int](repeating: 0, count: shape.count)
            for _ in 0..<n {
                var off = 0
                for d in 0..<shape.count { off += (p[d].start + idx[d] * p[d].step) * st[d] }
                flat.append(off)
                var d = shape.count - 1
                while d >= 0 { idx[d] += 1; if idx[d] < shape[d] { break }; idx[d] = 0; d -= 1 }
            }
            return [take(data, flat, shape: shape)]
        case "Range":
            let s = try req(0), l = try req(1), d = try req(2)
            let start = s.value(0), limit = l.value(0), delta = d.value(0)
            guard delta != 0 else { throw EngineError("\(node.label): delta 0") }
            let n = max(0, Int(((limit - start) / delta).rounded(.up)))
            guard n < (1 << 24) else { throw EngineError("\(node.label): range too long") }
            let vals = (0..<n).map { start + Double($0) * delta }
            return [s.dtype.isFloat ? Tensor(dtype: s.dtype, shape: [n], floats: vals.map { Float($0) }) : Tensor(dtype: s.dtype, shape: [n], ints: vals.map { Int64($0) })]
        case "ConstantOfShape":
            let shape = try req(0).asInts.map { Int($0) }
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) < (1 << 26) else { throw EngineError("\(node.label): invalid shape") }
            let v = node.attributes["value"]?.t ?? Tensor(dtype: .float, shape: [1], floats: [0])
            guard v.count == 1 else { throw EngineError("\(node.label): value must hold one element") }
            let n = shape.reduce(1, *)
            return [v.dtype.isFloat ? Tensor(dtype: v.dtype, shape: shape, floats: .init(repeating: v.floats[0], count: n))
                    : Tensor(dtype: v.dtype, shape: shape, ints: .init(repeating: v.ints[0], count: n))]
        case "Expand":
            let t = try req(0)
            guard let shape = broadcastShapes(t.shape, try req(1).asInts.map { Int($0) }) else {
                throw EngineError("\(node.label): shapes do not broadcast")
            }
            return [take(t, broadcastIndices(t.shape, to: shape), shape: shape)]
        case "Transpose":
            let t = try req(0)
            let perm = node.ints("perm") ?? Array((0..<t.shape.count).reversed())
            let shape = try ShapeRules.transposed(t.shape, perm, node)
            let st = stridesOf(t.shape)
            let src = perm.map { st[$0] }
            let n = t.count
            var flat = [Int](); flat.reserveCapacity(n)
            var idx = [Int](repeating: 0, count: shape.count)
            for _ in 0..<n {
                var off = 0
                for d in 0..<shape.count { off += idx[d] * src[d] }
                flat.append(off)
                var d = shape.count - 1
                while d >= 0 { idx[d] += 1; if idx[d] < shape[d] { break }; idx[d] = 0; d -= 1 }
            }
            return [take(t, flat, shape: shape)]
        case "Floor", "Ceil", "Sqrt", "Neg", "Abs", "Sigmoid":
            let t = try req(0)
            let f: (Double) -> Double = switch node.opType {
            case "Floor": { $0.rounded(.down) }
            case "Ceil": { $0.rounded(.up) }
            case "Sqrt": { $0.squareRoot() }
            case "Neg": { -$0 }
            case "Abs": { abs($0) }
            default: { 1 / (1 + exp(-$0)) }
            }
            if t.dtype.isFloat { return [Tensor(dtype: t.dtype, shape: t.shape, floats: t.floats.map { Float(f(Double($0))) })] }
            return [Tensor(dtype: t.dtype, shape: t.shape, ints: t.ints.map { Int64(f(Double($0))) })]
        case "ReduceProd":
            let t = try req(0)
            guard node.ints("axes") == nil, inputs.count < 2 else { throw EngineError("\(node.label): only full reduction folds") }
            let p = (0..<t.count).reduce(1.0) { $0 * t.value($1) }
            let shape = node.int("keepdims", 1) != 0 ? t.shape.map { _ in 1 } : []
            return [t.dtype.isFloat ? Tensor(dtype: t.dtype, shape: shape, floats: [Float(p)]) : Tensor(dtype: t.dtype, shape: shape, ints: [Int64(p)])]
        case "DequantizeLinear":
            let x = try req(0), scale = try req(1)
            let zp = inputs.count > 2 ? inputs[2] : nil
            let q = try QuantParams(scale: scale, zeroPoint: zp, axis: node.int("axis", 1), rank: x.shape.count, node)
            let inner = q.axis < x.shape.count ? x.shape[(q.axis + 1)...].reduce(1, *) : 1
            let dim = q.scales.count
            let out = (0..<x.count).map { i -> Float in
                let c = dim == 1 ? 0 : (i / inner) % dim
                return Float(x.ints[i] - Int64(q.zeroPoints[c])) * q.scales[c]
            }
            return [Tensor(dtype: .float, shape: x.shape, floats: out)]
        default:
            throw EngineError("\(node.label): cannot be folded")
        }
    }
}
