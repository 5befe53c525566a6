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

    /// Loads, validates and prepares an ONNX file for the given fixed input shape (nil: the file's).
    public init(path: String, inputShape: [Int]? = nil) throws {
        throw EngineError("\(path): the engine is not built yet")
    }

    /// A new session with its own preallocated memory. `threads` is the thread count inside one run.
    public func makeSession(threads: Int = 1) throws -> Session {
        throw EngineError("the engine is not built yet")
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
    init(model: Model) { self.model = model }

    /// The float input tensor (index `i`) to write into before `run()`; no copy is made.
    public func input(_ i: Int = 0) -> UnsafeMutableBufferPointer<Float> {
        fatalError("the engine is not built yet")
    }

    /// Runs the graph on the current inputs.
    public func run() throws { throw EngineError("the engine is not built yet") }

    /// Output `i` as computed by the last `run()`, as float (quantized outputs are dequantized).
    public func output(_ i: Int = 0) -> TensorView { fatalError("the engine is not built yet") }
}
