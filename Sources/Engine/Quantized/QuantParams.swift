import Foundation

/// Scale and zero point of a QuantizeLinear/DequantizeLinear, per tensor (one value) or per axis.
struct QuantParams: Sendable {
    var scales: [Float]
    var zeroPoints: [Int]
    var axis: Int
    /// Element type of the quantized side (from the zero point; uint8 when absent).
    var dtype: DType

    var isPerTensor: Bool { scales.count == 1 }

    init(scale: Tensor, zeroPoint: Tensor?, axis: Int, rank: Int, _ node: OnnxNode) throws {
        guard scale.dtype.isFloat else { throw EngineError("\(node.label): scale must be float") }
        scales = scale.floats
        guard !scales.isEmpty, scale.shape.count <= 1 else { throw EngineError("\(node.label): scale must be a scalar or 1-D (blocked quantization is not supported)") }
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw EngineError("\(node.label): scales must be positive") }
        if let zeroPoint {
            guard zeroPoint.count == scales.count else { throw EngineError("\(node.label): zero point and scale sizes differ") }
            guard [.uint8, .int8, .int32].contains(zeroPoint.dtype) else {
                throw EngineError("\(node.label): unsupported quantized type \(zeroPoint.dtype.name)")
            }
            zeroPoints = zeroPoint.ints.map { Int($0) }
            dtype = zeroPoint.dtype
        } else {
            zeroPoints = [Int](repeating: 0, count: scales.count)
            dtype = .uint8
        }
        self.axis = 0
        if scales.count > 1 || scale.shape.count == 1 && rank > 0 && scale.shape == [scales.count] && scales.count > 1 {
            self.axis = try normalizeAxis(axis, rank: rank, node)
        }
    }

    /// The int range of the quantized type.
    var range: ClosedRange<Int> { dtype == .int8 ? -128...127 : (dtype == .int32 ? Int(Int32.min)...Int(Int32.max) : 0...255) }

    /// Quantizes one float the way QuantizeLinear does (round half to even, saturate).
    func quantize(_ v: Float, channel c: Int = 0) -> Int {
        let q = (v / scales[c]).rounded(.toNearestOrEven) + Float(zeroPoints[c])
        return Int(min(max(q, Float(range.lowerBound)), Float(range.upperBound)))
    }
}
