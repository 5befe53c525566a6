import Foundation

/// ONNX element types the engine holds in memory (TensorProto.DataType numbers).
enum DType: Int, Sendable {
    case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, double = 11

    var name: String {
        switch self {
        case .float: "float32"; case .uint8: "uint8"; case .int8: "int8"; case .int32: "int32"
        case .int64: "int64"; case .bool: "bool"; case .double: "float64"
        }
    }
    var isFloat: Bool { self == .float || self == .double }
    /// Bytes per element when the tensor lives in a session arena.
    var runtimeSize: Int {
        switch self { case .float, .int32: 4; case .uint8, .int8, .bool: 1; case .int64, .double: 8 }
    }
    static func name(ofONNX code: Int) -> String {
        let names = [0: "undefined", 1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
                     8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 14: "complex64",
                     15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2",
                     20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1"]
        return names[code] ?? "type \(code)"
    }
}

/// A tensor known at load time (initializer, Constant, or folded value). Floating types are held as `Float`,
/// integer and bool types as `Int64`, so that folding arithmetic has one code path per kind.
struct Tensor: Sendable {
    var dtype: DType
    var shape: [Int]
    var floats: [Float] = []
    var ints: [Int64] = []

    var count: Int { shape.reduce(1, *) }

    init(dtype: DType, shape: [Int], floats: [Float]) { self.dtype = dtype; self.shape = shape; self.floats = floats }
    init(dtype: DType, shape: [Int], ints: [Int64]) { self.dtype = dtype; self.shape = shape; self.ints = ints }

    /// Element `i` as a Double, whatever the kind.
    func value(_ i: Int) -> Double { dtype.isFloat ? Double(floats[i]) : Double(ints[i]) }
    /// All elements as Float.
    var asFloats: [Float] { dtype.isFloat ? floats : ints.map { Float($0) } }
    /// All elements as Int64 (floats truncated).
    var asInts: [Int64] { dtype.isFloat ? floats.map { Int64($0) } : ints }

    /// Converts to another element type the way ONNX Cast does for the types we hold.
    func cast(to t: DType) -> Tensor {
        if t.isFloat { return Tensor(dtype: t, shape: shape, floats: asFloats) }
        var v = dtype.isFloat ? floats.map { $0.isFinite ? Int64(max(min($0, 9.2e18), -9.2e18)) : 0 } : ints
        switch t {
        case .uint8: v = v.map { $0 & 0xff }
        case .int8: v = v.map { Int64(Int8(truncatingIfNeeded: $0)) }
        case .int32: v = v.map { Int64(Int32(truncatingIfNeeded: $0)) }
        case .bool: v = (dtype.isFloat ? floats.map { $0 != 0 ? 1 : 0 } : ints.map { $0 != 0 ? 1 : 0 })
        default: break
        }
        return Tensor(dtype: t, shape: shape, ints: v)
    }

    /// Builds a tensor from a TensorProto's payload, checking that its length matches its shape.
    static func decode(dtypeCode: Int, dims: [Int64], raw: [UInt8]?, floatData: [Float], intData: [Int64],
                       doubleData: [Double], name: String) throws -> Tensor {
        guard let dtype = DType(rawValue: dtypeCode) else {
            throw EngineError("tensor '\(name)': unsupported element type \(DType.name(ofONNX: dtypeCode))")
        }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard d >= 0, d < (1 << 31) else { throw EngineError("tensor '\(name)': invalid dimension \(d)") }
            shape.append(Int(d))
            let (p, o) = count.multipliedReportingOverflow(by: Int(d))
            guard !o, p < (1 << 32) else { throw EngineError("tensor '\(name)': too many elements") }
            count = p
        }
        if let raw {
            let size: Int = [DType.float: 4, .uint8: 1, .int8: 1, .int32: 4, .int64: 8, .bool: 1, .double: 8][dtype] ?? 1
            guard raw.count == count * size else {
                throw EngineError("tensor '\(name)': raw_data holds \(raw.count) bytes, shape \(shape) needs \(count * size)")
            }
            return raw.withUnsafeBytes { b -> Tensor in
                switch dtype {
                case .float: return Tensor(dtype: dtype, shape: shape, floats: (0..<count).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) })
                case .double: return Tensor(dtype: dtype, shape: shape, floats: (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) })
                case .uint8, .bool: return Tensor(dtype: dtype, shape: shape, ints: raw.map { Int64($0) })
                case .int8: return Tensor(dtype: dtype, shape: shape, ints: raw.map { Int64(Int8(bitPattern: $0)) })
                case .int32: return Tensor(dtype: dtype, shape: shape, ints: (0..<count).map { Int64(Int32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) })
                case .int64: return Tensor(dtype: dtype, shape: shape, ints: (0..<count).map { Int64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) })
                }
            }
        }
        switch dtype {
        case .float:
            guard floatData.count == count else { throw EngineError("tensor '\(name)': float_data holds \(floatData.count) values, shape \(shape) needs \(count)") }
            return Tensor(dtype: dtype, shape: shape, floats: floatData)
        case .double:
            guard doubleData.count == count else { throw EngineError("tensor '\(name)': double_data holds \(doubleData.count) values, shape \(shape) needs \(count)") }
            return Tensor(dtype: dtype, shape: shape, floats: doubleData.map { Float($0) })
        default:
            guard intData.count == count else { throw EngineError("tensor '\(name)': integer data holds \(intData.count) values, shape \(shape) needs \(count)") }
            return Tensor(dtype: dtype, shape: shape, ints: intData).cast(to: dtype)
        }
    }
}
