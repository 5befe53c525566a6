import CKernels
import Foundation

/// Float tensors that are a function of one quantized (byte) tensor run on the bytes.
///
/// In QDQ graphs that quantize only Conv, the glue between convs (SiLU, Split, Concat, MaxPool, Resize, the
/// residual Add) is float: DequantizeLinear, float ops, QuantizeLinear. Every element of such a float tensor is
/// f(b) for the byte b it came from, so the builder keeps, for each float value, the byte value and a 256-entry
/// table of f when it knows them. Elementwise ops on such a value only change the table; data movement (Split,
/// Slice, Concat, reshapes, Transpose, nearest Resize, and MaxPool when the table is monotonic) runs on the bytes;
/// QuantizeLinear becomes a byte-to-byte table, and Concat followed by QuantizeLinear writes each input's bytes
/// straight into its slice. The float tensors are still defined (a table lookup) for any consumer that needs
/// them and are dropped as dead steps otherwise. Every table entry is computed by the same float kernels the
/// float path runs, so results are bit-identical to running the graph in float.
extension GraphBuilder {
    /// The byte value and table behind a float value, if known.
    func byteForm(_ name: String) -> (source: Int, table: [Float])? {
        valueOf[name].flatMap { byteTables[$0] }
    }

    /// Adds the float value `name` = table[source] (run only if something reads it) and records its byte form.
    @discardableResult
    func addTabled(_ node: OnnxNode, _ name: String, source: Int, table: [Float]) -> Int {
        let y = addValue(name, .float, values[source].shape)
        byteTables[y] = (source, table)
        let n = values[source].count
        addStep(node, [source], [y]) { i, o in FloatTableKernel(x: i[0], y: o[0], count: n, table: table) }
        return y
    }

    /// Handles `node` on bytes when its float inputs have byte forms; false to leave it to the float path.
    func emitOnBytes(_ node: OnnxNode, _ idx: Int) throws -> Bool {
        let op = node.opType
        guard let first = node.input(0), let f = byteForm(first) else { return false }

        // Elementwise: only the table changes.
        if let code = Self.unaryCodes[op], ![16, 17, 18].contains(code) {
            var t = [Float](repeating: 0, count: 256)
            ck_unary_f32(code, f.table, &t, 256, 0, 0)
            addTabled(node, node.outputs[0], source: f.source, table: t)
            return true
        }
        if let code = Self.binaryCodes[op], node.inputs.count == 2, let second = node.input(1) {
            let other: [Float]
            if let g = byteForm(second), g.source == f.source { other = g.table } else if let c = consts[second], c.count == 1, c.dtype.isFloat {
                other = [Float](repeating: c.asFloats[0], count: 256)
            } else { return false }
            var t = [Float](repeating: 0, count: 256)
            let one: [Int64] = [1]
            // The same binary kernel the float path runs, on the 256 table entries.
            ck_binary_f32(code, f.table, one, other, one, &t, [256], 1)
            addTabled(node, node.outputs[0], source: f.source, table: t)
            return true
        }

        switch op {
        case "QuantizeLinear":
            guard let sn = node.input(1), let scale = consts[sn] else { return false }
            let zp = node.input(2).flatMap { consts[$0] }
            if node.input(2) != nil && zp == nil { return false }
            guard let p = try? QuantParams(scale: scale, zeroPoint: zp, axis: node.int("axis", 1), rank: values[f.source].shape.count, node),
                  p.isPerTensor, p.dtype != .int32 else { return false }
            let lut = quantizeTable(f.table, p)
            let srcType = values[f.source].dtype
            if srcType == p.dtype && lut == (0..<256).map({ UInt8($0) }) {
                valueOf[node.outputs[0]] = f.source  // requantizing to the same parameters: the bytes themselves
                return true
            }
            let y = addValue(node.outputs[0], p.dtype, values[f.source].shape)
            let n = values[f.source].count
            addStep(node, [f.source], [y]) { i, o in TableKernel(x: i[0], y: o[0], count: n, table: lut) }
            return true
        case "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose", "Slice", "Split", "Resize", "Upsample", "MaxPool":
            if op == "MaxPool" {
                guard node.outputs.count == 1 || node.outputs[1].isEmpty, isMonotonic(f.table, values[f.source].dtype) else { return false }
            }
            if op == "Dropout", node.outputs.count > 1, !node.outputs[1].isEmpty { return false }
            var byteNode = node
            byteNode.inputs[0] = values[f.source].name
            byteNode.outputs = node.outputs.map { $0.isEmpty ? $0 : $0 + "#bytes" }
            switch op {
            case "Resize", "Upsample": try emitResize(byteNode)
            case "MaxPool": try emitBytePool(byteNode, f.source)
            default: try emitMovement(byteNode, f.source)
            }
            for (k, name) in node.outputs.enumerated() where !name.isEmpty {
                guard let b = valueOf[byteNode.outputs[k]] else { throw fail(node, "internal: byte output \(k) missing") }
                addTabled(node, name, source: b, table: f.table)
            }
            return true
        case "Concat":
            return try emitByteConcat(node)
        default:
            return false
        }
    }

    /// Quantization of every table entry exactly as the QuantizeLinear kernel does it, as byte bit patterns.
    func quantizeTable(_ table: [Float], _ p: QuantParams) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 256)
        ck_quantize_f32(table, &out, 256, p.scales[0], Int32(p.zeroPoints[0]), p.dtype == .int8 ? 1 : 0)
        return out
    }

    /// Whether the table never decreases in the byte type's order (then max commutes with it).
    func isMonotonic(_ table: [Float], _ dtype: DType) -> Bool {
        let order: [Int] = dtype == .int8 ? Array(128..<256) + Array(0..<128) : Array(0..<256)
        return zip(order, order.dropFirst()).allSatisfy { table[$0] <= table[$1] } && !table.contains { $0.isNaN }
    }

    func emitBytePool(_ node: OnnxNode, _ a: Int) throws {
        try emitPool(node, bytes: true)
        guard let y = valueOf[node.outputs[0]], let step = producer[y] else { throw fail(node, "internal: pool output missing") }
        values[y].dtype = values[a].dtype
        let make = steps[step].make
        let signed = values[a].dtype == .int8
        steps[step].make = { i, o in
            guard let k = try make(i, o) as? PoolKernel else { throw EngineError("internal: MaxPool kernel expected") }
            return BytePoolKernel(pool: k, signed: signed)
        }
    }

    /// Concat on bytes: all inputs with one table → a byte concat; otherwise, when a QuantizeLinear is the only
    /// reader, each input is written into its slice of the quantized output (a byte table, or quantization of a
    /// float input) and the float concat never exists.
    func emitByteConcat(_ node: OnnxNode) throws -> Bool {
        let names = node.inputs.filter { !$0.isEmpty }
        let forms = names.map { byteForm($0) }
        if let f0 = forms[0], forms.allSatisfy({ $0 != nil && $0!.table == f0.table && values[$0!.source].dtype == values[f0.source].dtype }) {
            var byteNode = node
            byteNode.inputs = forms.map { values[$0!.source].name }
            byteNode.outputs = [node.outputs[0] + "#bytes"]
            try emitMovement(byteNode, f0.source)
            guard let b = valueOf[byteNode.outputs[0]] else { throw fail(node, "internal: byte concat missing") }
            addTabled(node, node.outputs[0], source: b, table: f0.table)
            return true
        }
        guard let (qi, p) = try quantizeAfter(node.outputs[0], rankOf: names) else { return false }
        var ids: [Int] = []
        for name in names { ids.append(try runtimeValue(name, node)) }
        let shapes = ids.map { values[$0].shape }
        let rank = shapes[0].count
        let axis = try normalizeAxis(node.int("axis", 0), rank: rank, node)
        guard shapes[0][..<axis].reduce(1, *) == 1,
              shapes.allSatisfy({ (s: [Int]) -> Bool in s.count == rank && (0..<rank).allSatisfy { d in d == axis || s[d] == shapes[0][d] } }) else { return false }
        var shape = shapes[0]; shape[axis] = shapes.reduce(0) { $0 + $1[axis] }
        absorbed.insert(qi)
        let y = addValue(onnx.nodes[qi].outputs[0], p.dtype, shape)
        var sources: [Int] = []
        var parts: [ConcatQuantizeKernel.Part] = []
        var at = 0
        for (k, id) in ids.enumerated() {
            let n = values[id].count
            if let f = forms[k] {
                sources.append(f.source)
                parts.append(.init(count: n, dst: at, table: quantizeTable(f.table, p)))
            } else {
                guard values[id].dtype == .float else { throw fail(node, "input '\(values[id].name)' is \(values[id].dtype.name), expected float") }
                sources.append(id)
                parts.append(.init(count: n, dst: at, table: nil))
            }
            at += n
        }
        let scale = p.scales[0], zp = Int32(p.zeroPoints[0]), signed = p.dtype == .int8
        addStep(node, sources, [y]) { i, o in
            ConcatQuantizeKernel(parts: parts, srcs: i, y: o[0], scale: scale, zeroPoint: zp, signed: signed)
        }
        return true
    }

    /// quantizeAfter for a tensor whose rank is that of the named inputs.
    private func quantizeAfter(_ name: String, rankOf names: [String]) throws -> (node: Int, params: QuantParams)? {
        guard let users = soleConsumers(name), users.count == 1 else { return nil }
        let n = onnx.nodes[users[0]]
        guard n.opType == "QuantizeLinear", n.inputs.first == name, let sn = n.input(1), let scale = consts[sn] else { return nil }
        let zp = n.input(2).flatMap { consts[$0] }
        if n.input(2) != nil && zp == nil { return nil }
        let rank = valueOf[names[0]].map { values[$0].shape.count } ?? 4
        guard let p = try? QuantParams(scale: scale, zeroPoint: zp, axis: n.int("axis", 1), rank: rank, n), p.isPerTensor,
              p.dtype != .int32 else { return nil }
        return (users[0], p)
    }
}

/// y = table[x] from bytes to float: a float tensor defined by its byte form.
struct FloatTableKernel: Kernel {
    let x: Int, y: Int, count: Int
    let table: [Float]
    func run(_ c: RunContext) {
        table.withUnsafeBufferPointer { t in
            c.pool.parallelRanges(count, align: 64, grain: 32768) { r in
                ck_table_f32(c.bytes(x) + r.lowerBound, c.f32(y) + r.lowerBound, r.count, t.baseAddress)
            }
        }
    }
}

/// MaxPool on bytes (u8, or s8 compared as signed).
struct BytePoolKernel: Kernel {
    let pool: PoolKernel
    let signed: Bool
    func run(_ c: RunContext) {
        let k = pool
        c.pool.parallelRanges(k.planes) { r in
            ck_maxpool_u8(c.bytes(k.x), Int32(k.h), Int32(k.w), Int32(k.kh), Int32(k.kw), Int32(k.sh), Int32(k.sw), Int32(k.pt), Int32(k.pl),
                          Int32(k.dh), Int32(k.dw), Int32(k.oh), Int32(k.ow), c.bytes(k.y), Int32(r.lowerBound), Int32(r.upperBound), signed ? 1 : 0)
        }
    }
}

/// QuantizeLinear(Concat(...)) written slice by slice: byte inputs through their table, float inputs quantized.
struct ConcatQuantizeKernel: Kernel {
    struct Part: Sendable {
        var count: Int, dst: Int
        var table: [UInt8]?
    }
    let parts: [Part]
    let srcs: [Int]
    let y: Int
    let scale: Float, zeroPoint: Int32, signed: Bool
    func run(_ c: RunContext) {
        for (p, src) in zip(parts, srcs) {
            let out = c.bytes(y) + p.dst
            if let t = p.table {
                t.withUnsafeBufferPointer { tp in
                    c.pool.parallelRanges(p.count, align: 64, grain: 32768) { r in ck_lut_u8(c.bytes(src) + r.lowerBound, out + r.lowerBound, r.count, tp.baseAddress) }
                }
            } else {
                c.pool.parallelRanges(p.count, align: 64, grain: 32768) { r in
                    ck_quantize_f32(c.f32(src) + r.lowerBound, out + r.lowerBound, r.count, scale, zeroPoint, signed ? 1 : 0)
                }
            }
        }
    }
}
