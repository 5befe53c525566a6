import Foundation

/// Output-shape rules shared by constant folding and run-time shape inference.
enum ShapeRules {
    static func squeezeUnsqueeze(_ op: String, _ shape: [Int], _ axesIn: [Int]?, _ node: OnnxNode) throws -> [Int] {
        if op == "Squeeze" {
            guard let axesIn else { return shape.filter { $0 != 1 } }
            let axes = Set(try axesIn.map { try normalizeAxis($0, rank: shape.count, node) })
            for a in axes where shape[a] != 1 { throw EngineError("\(node.label): cannot squeeze axis \(a) of size \(shape[a])") }
            return shape.enumerated().filter { !axes.contains($0.offset) }.map { $0.element }
        }
        guard let axesIn else { throw EngineError("\(node.label): Unsqueeze needs axes") }
        let rank = shape.count + axesIn.count
        let axes = Set(try axesIn.map { try normalizeAxis($0, rank: rank, node) })
        guard axes.count == axesIn.count else { throw EngineError("\(node.label): repeated axes") }
        var out: [Int] = []
        var it = shape.makeIterator()
        for i in 0..<rank { out.append(axes.contains(i) ? 1 : (it.next() ?? 1)) }
        return out
    }

    static func transposed(_ shape: [Int], _ perm: [Int], _ node: OnnxNode) throws -> [Int] {
        guard perm.count == shape.count, Set(perm) == Set(0..<shape.count) else {
            throw EngineError("\(node.label): perm \(perm) does not match rank \(shape.count)")
        }
        return perm.map { shape[$0] }
    }

    /// Output size of a pooled/convolved axis, with ONNX auto_pad handling; returns (out, padBegin, padEnd).
    static func window(input: Int, kernel: Int, stride: Int, dilation: Int, padBegin: Int, padEnd: Int,
                       autoPad: String, ceil: Bool, _ node: OnnxNode) throws -> (Int, Int, Int) {
        guard kernel > 0, stride > 0, dilation > 0 else { throw EngineError("\(node.label): invalid kernel/stride/dilation") }
        let ek = (kernel - 1) * dilation + 1
        switch autoPad {
        case "NOTSET", "":
            let span = input + padBegin + padEnd - ek
            guard span >= 0 else { throw EngineError("\(node.label): kernel larger than padded input") }
            var out = (ceil ? (span + stride - 1) / stride : span / stride) + 1
            // ceil_mode: the last window must start inside the input or left padding.
            if ceil && (out - 1) * stride >= input + padBegin { out -= 1 }
            return (out, padBegin, padEnd)
        case "VALID":
            let out = (input - ek) / stride + 1
            guard out > 0 else { throw EngineError("\(node.label): kernel larger than input") }
            return (out, 0, 0)
        case "SAME_UPPER", "SAME_LOWER":
            let out = (input + stride - 1) / stride
            let total = max(0, (out - 1) * stride + ek - input)
            let small = total / 2, big = total - small
            return autoPad == "SAME_UPPER" ? (out, small, big) : (out, big, small)
        default: throw EngineError("\(node.label): unsupported auto_pad \(autoPad)")
        }
    }
}
