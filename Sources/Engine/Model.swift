import CKernels
import COpenBLAS
import Foundation

/// Element types the engine reads and writes at a model's boundary.
public enum ElementType: String, Sendable, Codable {
    case float32, uint8, int8, int32, int64
}

/// Name, element type and shape of a model input or output (fixed at load; no dynamic dimensions remain).
public struct TensorInfo: Sendable, Codable, Equatable {
    public var name: String
    public var elementType: ElementType
    public var shape: [Int]
    public init(name: String, elementType: ElementType, shape: [Int]) {
        self.name = name; self.elementType = elementType; self.shape = shape
    }
}

/// What `inspectd model-info` prints and the daemon records: identity and structure of a loaded model.
public struct ModelInfo: Sendable, Codable {
    public var path: String
    public var sha256: String
    public var producer: String
    public var opset: Int
    public var inputs: [TensorInfo]
    public var outputs: [TensorInfo]
    /// Node count per op type in the file as stored (before our graph preparation).
    public var opCounts: [String: Int]
    /// True when the file holds QuantizeLinear/DequantizeLinear (QDQ) nodes.
    public var isQuantized: Bool
    /// Class names by class id, from the Ultralytics `names` metadata (empty if absent).
    public var classNames: [String]
    /// All metadata_props as stored.
    public var metadata: [String: String]
}

/// Errors from loading or running a model. The description names the file, node, op and opset involved.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A loaded, prepared model: parsed once, shared read-only by all sessions (one per worker).
public final class Model: Sendable {
    /// Structure and identity of the model.
    public let info: ModelInfo
    let plan: ExecutionPlan

    /// Loads, validates and prepares an ONNX file for the given fixed input shape (nil: the file's).
    public convenience init(path: String, inputShape: [Int]? = nil) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError("\(path): cannot read the file")
        }
        try self.init(bytes: [UInt8](data), path: path, inputShape: inputShape)
    }

    /// Loads a model from the bytes of an ONNX file; `path` is only used in messages and `info`.
    public convenience init(bytes: [UInt8], path: String, inputShape: [Int]? = nil) throws {
        let onnx: OnnxModel
        do { onnx = try OnnxModel.parse(bytes) } catch let e as EngineError {
            throw EngineError("\(path): not a readable ONNX model: \(e.description)")
        }
        try self.init(onnx: onnx, sha256: ContentHash.sha256Hex(bytes), path: path, inputShape: inputShape)
    }

    /// Prepares an already parsed model.
    init(onnx: OnnxModel, sha256: String, path: String, inputShape: [Int]?) throws {
        let opset = onnx.opset
        guard opset > 0 else { throw EngineError("\(path): no default-domain opset import") }
        guard opset >= 7 && opset <= 28 else { throw EngineError("\(path): opset \(opset) is not supported (7–28)") }
        let builder = GraphBuilder(onnx: onnx, path: path)
        try builder.build(inputShape: inputShape)
        plan = try ExecutionPlan(builder)
        var counts: [String: Int] = [:]
        for n in onnx.nodes { counts[n.opType, default: 0] += 1 }
        func tensorInfo(_ s: ExecutionPlan.Slot) -> TensorInfo {
            let t: ElementType = switch s.value.dtype {
            case .uint8, .bool: .uint8; case .int8: .int8; case .int32: .int32; case .int64: .int64; default: .float32
            }
            return TensorInfo(name: s.value.name, elementType: t, shape: s.value.shape)
        }
        info = ModelInfo(path: path, sha256: sha256, producer: [onnx.producer, onnx.producerVersion].filter { !$0.isEmpty }.joined(separator: " "),
                         opset: opset, inputs: plan.inputs.map(tensorInfo), outputs: plan.outputs.map(tensorInfo), opCounts: counts,
                         isQuantized: onnx.nodes.contains { ["QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"].contains($0.opType) },
                         classNames: Model.classNames(onnx.metadata["names"]), metadata: onnx.metadata)
    }

    /// Parses Ultralytics' `names` metadata, a Python dict literal like `{0: 'open', 1: 'short'}`.
    static func classNames(_ text: String?) -> [String] {
        guard let text, let re = try? NSRegularExpression(pattern: #"(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"#) else { return [] }
        var byID: [Int: String] = [:]
        let ns = text as NSString
        for m in re.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            guard let id = Int(ns.substring(with: m.range(at: 1))) else { continue }
            let r = m.range(at: 2).location != NSNotFound ? m.range(at: 2) : m.range(at: 3)
            byID[id] = ns.substring(with: r)
        }
        guard let maxID = byID.keys.max(), maxID < 100_000 else { return [] }
        return (0...maxID).map { byID[$0] ?? "class\($0)" }
    }

    /// Instruction set the integer kernels dispatch to on this CPU ("avx2", "scalar", ...).
    public static var kernelISA: String { String(cString: ck_isa_name()) }

    /// A new session with its own preallocated memory. `threads` is the thread count inside one run.
    public func makeSession(threads: Int = 1) throws -> Session {
        guard threads >= 1, threads <= 256 else { throw EngineError("threads must be between 1 and 256, got \(threads)") }
        return Session(model: self, threads: threads)
    }
}

/// Read-only view of an output tensor in a session's arena; valid until the next `run`.
public struct TensorView: @unchecked Sendable {
    public var info: TensorInfo
    public var data: UnsafeBufferPointer<Float>
    public init(info: TensorInfo, data: UnsafeBufferPointer<Float>) { self.info = info; self.data = data }
}

/// One inference context: owns its arena and scratch; used by one thread at a time.
public final class Session {
    /// The model this session runs.
    public let model: Model
    let pool: WorkerPool
    let arena: UnsafeMutableRawPointer
    let scratch: UnsafeMutableRawPointer
    /// Float copies of non-float outputs (allocated once).
    private var converted: [Int: UnsafeMutableBufferPointer<Float>] = [:]

    init(model: Model, threads: Int) {
        self.model = model
        openblas_set_num_threads(1)  // we parallelise ourselves; OpenBLAS runs in the calling thread
        let workers = WorkerPool(threads: threads)
        pool = workers
        let plan = model.plan
        let a = UnsafeMutableRawPointer.allocate(byteCount: plan.arenaBytes, alignment: 64)
        a.initializeMemory(as: UInt8.self, repeating: 0, count: plan.arenaBytes)
        for c in plan.constants where !c.bytes.isEmpty { c.bytes.withUnsafeBytes { (a + c.offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        arena = a
        let scratchBytes = max(64, plan.kernels.map { $0.scratchBytes(threads: workers.threads) }.max() ?? 0)
        scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
        var conv: [Int: UnsafeMutableBufferPointer<Float>] = [:]
        for (i, o) in plan.outputs.enumerated() where o.value.dtype != .float {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(o.value.count, 1))
            b.initialize(repeating: 0)
            conv[i] = b
        }
        converted = conv
    }

    deinit {
        arena.deallocate(); scratch.deallocate()
        for b in converted.values { b.deallocate() }
    }

    /// Number of threads one run uses.
    public var threads: Int { pool.threads }

    /// The float input tensor (index `i`) to write into before `run()`; no copy is made.
    /// An input that is not float32, or an index out of range, gives an empty buffer.
    public func input(_ i: Int = 0) -> UnsafeMutableBufferPointer<Float> {
        let slots = model.plan.inputs
        guard i >= 0, i < slots.count, slots[i].value.dtype == .float else { return UnsafeMutableBufferPointer(start: nil, count: 0) }
        return UnsafeMutableBufferPointer(start: (arena + slots[i].offset).assumingMemoryBound(to: Float.self), count: slots[i].value.count)
    }

    /// Raw bytes of input `i` whatever its element type (for tests and tools that feed integer tensors).
    func inputBytes(_ i: Int) -> UnsafeMutableRawBufferPointer {
        let s = model.plan.inputs[i]
        return UnsafeMutableRawBufferPointer(start: arena + s.offset, count: s.value.bytes)
    }

    /// Raw bytes of output `i` as computed.
    func outputBytes(_ i: Int) -> UnsafeRawBufferPointer {
        let s = model.plan.outputs[i]
        return UnsafeRawBufferPointer(start: arena + s.offset, count: s.value.bytes)
    }

    /// Runs the graph on the current inputs.
    public func run() throws {
        let ctx = RunContext(arena: arena, scratch: scratch, pool: pool)
        for k in model.plan.kernels { k.run(ctx) }
        for (i, buf) in converted {
            let s = model.plan.outputs[i]
            let p = arena + s.offset
            for j in 0..<s.value.count {
                switch s.value.dtype {
                case .uint8, .bool: buf[j] = Float(p.load(fromByteOffset: j, as: UInt8.self))
                case .int8: buf[j] = Float(p.load(fromByteOffset: j, as: Int8.self))
                case .int32: buf[j] = Float(p.load(fromByteOffset: j * 4, as: Int32.self))
                case .int64: buf[j] = Float(p.load(fromByteOffset: j * 8, as: Int64.self))
                default: break
                }
            }
        }
    }

    /// Runs the graph once and returns the wall time of every step with its label (op and node name), for
    /// `inspectd bench model --profile`.
    public func runProfiled() throws -> [(label: String, ms: Double)] {
        let ctx = RunContext(arena: arena, scratch: scratch, pool: pool)
        let plan = model.plan
        var out: [(label: String, ms: Double)] = []
        out.reserveCapacity(plan.kernels.count)
        for (k, label) in zip(plan.kernels, plan.labels) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            k.run(ctx)
            out.append((label, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6))
        }
        return out
    }

    /// Output `i` as computed by the last `run()`, as float (integer outputs are converted to float values).
    /// An index out of range gives an empty view.
    public func output(_ i: Int = 0) -> TensorView {
        let slots = model.plan.outputs
        guard i >= 0, i < slots.count else {
            return TensorView(info: TensorInfo(name: "", elementType: .float32, shape: []), data: UnsafeBufferPointer(start: nil, count: 0))
        }
        let info = model.info.outputs[i]
        if let b = converted[i] { return TensorView(info: info, data: UnsafeBufferPointer(b)) }
        return TensorView(info: info, data: UnsafeBufferPointer(start: (arena + slots[i].offset).assumingMemoryBound(to: Float.self), count: slots[i].value.count))
    }
}
