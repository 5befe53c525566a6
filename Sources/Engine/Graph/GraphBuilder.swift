import Foundation

/// Element type and fixed shape of a value computed at run time.
struct ValueDesc: Sendable {
    var name: String
    var dtype: DType
    var shape: [Int]
    var count: Int { shape.reduce(1, *) }
    var bytes: Int { count * dtype.runtimeSize }
}

/// A run-time step before memory planning: which values it reads and writes, and how to make its kernel once
/// the arena offsets are known.
struct PendingStep {
    var label: String
    var inputs: [Int]
    var outputs: [Int]
    var make: ([Int], [Int]) throws -> any Kernel
    /// A Concat whose inputs are whole contiguous blocks of its output: input k starts `views[k]` bytes into it.
    /// The memory plan may place the inputs there, and the step then has nothing left to do.
    var views: [Int]? = nil
}

/// Turns a parsed ONNX graph into run-time steps for one fixed input shape: folds constants and shape
/// arithmetic, infers shapes, fuses QDQ patterns into integer kernels, drops dead nodes and plans memory.
final class GraphBuilder {
    let onnx: OnnxModel
    let path: String
    var opset: Int { onnx.opset }

    var consts: [String: Tensor]
    var valueOf: [String: Int] = [:]
    var values: [ValueDesc] = []
    var steps: [PendingStep] = []
    /// Node indices that read each name.
    var consumers: [String: [Int]] = [:]
    var graphOutputs: Set<String>
    /// Nodes already handled as part of a fused pattern.
    var absorbed: Set<Int> = []
    /// Values produced by a run-time DequantizeLinear: the quantized value and its parameters.
    var dequantized: [Int: (source: Int, params: QuantParams)] = [:]
    /// Float values known as a table of a byte value (see ByteDomain.swift).
    var byteTables: [Int: (source: Int, table: [Float])] = [:]
    /// Constants produced by DequantizeLinear on constants (quantized weights) with their parameters.
    var constDequantized: [String: (q: Tensor, params: QuantParams)] = [:]
    /// Step index producing each value.
    var producer: [Int: Int] = [:]
    /// Integer convolutions by step index, kept mutable until kernels are made (table fusion edits them).
    var qconvs: [Int: QConvKernel] = [:]
    /// Values whose contents are constants copied into every session's arena at creation.
    var arenaConstants: [Int: [UInt8]] = [:]

    var inputIDs: [Int] = []
    var outputIDs: [Int] = []

    init(onnx: OnnxModel, path: String) {
        self.onnx = onnx
        self.path = path
        self.consts = onnx.initializers
        self.graphOutputs = Set(onnx.outputs.map { $0.name })
        for (i, n) in onnx.nodes.enumerated() { for name in n.inputs where !name.isEmpty { consumers[name, default: []].append(i) } }
    }

    func fail(_ node: OnnxNode, _ msg: String) -> EngineError {
        EngineError("\(path): \(node.label) (opset \(opset)): \(msg)")
    }

    @discardableResult
    func addValue(_ name: String, _ dtype: DType, _ shape: [Int]) -> Int {
        values.append(ValueDesc(name: name, dtype: dtype, shape: shape))
        valueOf[name] = values.count - 1
        return values.count - 1
    }

    func addStep(_ node: OnnxNode, _ ins: [Int], _ outs: [Int], _ make: @escaping ([Int], [Int]) throws -> any Kernel) {
        for o in outs { producer[o] = steps.count }
        steps.append(PendingStep(label: node.label, inputs: ins, outputs: outs, make: make))
    }

    /// The run-time value for a name, putting a constant into the arena if the op needs it there.
    func runtimeValue(_ name: String, _ node: OnnxNode) throws -> Int {
        if let id = valueOf[name] { return id }
        guard let t = consts[name] else { throw fail(node, "input '\(name)' is not produced by any node nor an initializer") }
        let id = addValue(name, t.dtype, t.shape)
        var bytes: [UInt8] = []
        switch t.dtype {
        case .float, .double: t.floats.withUnsafeBytes { bytes = Array($0) }; values[id].dtype = .float
        case .uint8, .bool: bytes = t.ints.map { UInt8(truncatingIfNeeded: $0) }
        case .int8: bytes = t.ints.map { UInt8(bitPattern: Int8(truncatingIfNeeded: $0)) }
        case .int32: t.ints.map { Int32(truncatingIfNeeded: $0) }.withUnsafeBytes { bytes = Array($0) }
        case .int64: t.ints.withUnsafeBytes { bytes = Array($0) }
        }
        arenaConstants[id] = bytes
        return id
    }

    /// Consumers of a name that still matter (graph outputs count as an outside consumer).
    func soleConsumers(_ name: String) -> [Int]? {
        graphOutputs.contains(name) ? nil : consumers[name] ?? []
    }

    /// Runs the preparation.
    func build(inputShape: [Int]?) throws {
        let realInputs = onnx.inputs.filter { onnx.initializers[$0.name] == nil }
        guard !realInputs.isEmpty else { throw EngineError("\(path): the graph has no inputs") }
        for (i, v) in realInputs.enumerated() {
            guard let dtype = DType(rawValue: v.elemType), dtype != .double else {
                throw EngineError("\(path): input '\(v.name)' has unsupported element type \(DType.name(ofONNX: v.elemType))")
            }
            var shape: [Int]
            if i == 0, let inputShape {
                guard inputShape.count == v.dims.count || !v.hasShape else {
                    throw EngineError("\(path): input '\(v.name)' has rank \(v.dims.count), requested shape \(inputShape)")
                }
                for (d, f) in zip(inputShape, v.dims) where f != nil && f != d {
                    throw EngineError("\(path): input '\(v.name)' has fixed shape \(v.dims.map { $0.map(String.init) ?? "?" }), requested \(inputShape)")
                }
                guard inputShape.allSatisfy({ $0 > 0 }) else { throw EngineError("\(path): input shape \(inputShape) must be positive") }
                shape = inputShape
            } else {
                guard v.dims.allSatisfy({ $0 != nil }) else {
                    throw EngineError("\(path): input '\(v.name)' has symbolic dimensions; give an input shape")
                }
                shape = v.dims.map { $0 ?? 1 }
            }
            inputIDs.append(addValue(v.name, dtype, shape))
        }
        for (idx, node) in onnx.nodes.enumerated() where !absorbed.contains(idx) {
            try process(node, idx)
        }
        for o in onnx.outputs {
            guard !o.name.isEmpty else { continue }
            if valueOf[o.name] == nil, consts[o.name] != nil { _ = try runtimeValue(o.name, OnnxNode(name: o.name, opType: "Output")) }
            guard let id = valueOf[o.name] else { throw EngineError("\(path): graph output '\(o.name)' is never produced") }
            outputIDs.append(id)
        }
    }

    private func process(_ node: OnnxNode, _ idx: Int) throws {
        guard node.domain == "" || node.domain == "ai.onnx" else {
            throw fail(node, "unsupported domain '\(node.domain)'")
        }
        // Every op but Constant reads its first input, and every op writes its first output: a node without them
        // is malformed (Scripts/fuzz found a MaxPool without inputs crashing the loader on `inputs[0]`).
        guard node.outputs.first.map({ !$0.isEmpty }) ?? false else { throw fail(node, "the node has no output") }
        guard node.opType == "Constant" || (node.inputs.first.map { !$0.isEmpty } ?? false) else {
            throw fail(node, "the node has no first input")
        }
        for name in node.inputs where !name.isEmpty && consts[name] == nil && valueOf[name] == nil {
            throw fail(node, "input '\(name)' is missing: no initializer or node produces it")
        }
        let allConst = node.inputs.allSatisfy { $0.isEmpty || consts[$0] != nil }
        if node.opType == "Shape", let x = node.input(0), let id = valueOf[x] {
            let shape = values[id].shape.map { Int64($0) }
            var start = node.int("start", 0), end = node.int("end", shape.count)
            if start < 0 { start += shape.count }; if end < 0 { end += shape.count }
            start = max(0, min(start, shape.count)); end = max(start, min(end, shape.count))
            consts[node.outputs[0]] = Tensor(dtype: .int64, shape: [end - start], ints: Array(shape[start..<end]))
            return
        }
        if allConst && ConstantFolder.foldable.contains(node.opType) || node.opType == "Shape" && allConst {
            var ins = node.inputs.map { $0.isEmpty ? nil : consts[$0] }
            if node.opType == "Shape", let t = ins.first ?? nil {
                ins = [Tensor(dtype: .int64, shape: [t.shape.count], ints: t.shape.map { Int64($0) })]
                consts[node.outputs[0]] = ins[0]
                return
            }
            let outs: [Tensor]
            do { outs = try ConstantFolder.evaluate(node, ins, opset: opset) } catch let e as EngineError {
                throw EngineError("\(path): \(e.description) (opset \(opset))")
            }
            for (name, t) in zip(node.outputs, outs) where !name.isEmpty { consts[name] = t }
            if node.opType == "DequantizeLinear", let q = ins[0], let s = ins[1] {
                let zp = ins.count > 2 ? ins[2] : nil
                constDequantized[node.outputs[0]] = (q, try QuantParams(scale: s, zeroPoint: zp, axis: node.int("axis", 1), rank: q.shape.count, node))
            }
            return
        }
        try emitRuntime(node, idx)
    }
}
