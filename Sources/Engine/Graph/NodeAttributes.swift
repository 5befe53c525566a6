import Foundation

/// Typed access to a node's attributes with ONNX defaults.
extension OnnxNode {
    /// "op 'Conv' (node 'name')" for error messages.
    var label: String { "\(opType) node '\(name)'" }

    func int(_ key: String, _ def: Int) -> Int {
        guard let a = attributes[key] else { return def }
        if let i = a.i { return Int(clamping: i) }
        return def
    }
    func ints(_ key: String) -> [Int]? { attributes[key].map { $0.ints.map { Int(clamping: $0) } } }
    func float(_ key: String, _ def: Float) -> Float { attributes[key]?.f ?? def }
    func string(_ key: String, _ def: String) -> String { attributes[key]?.s ?? def }
    func input(_ i: Int) -> String? { i < inputs.count && !inputs[i].isEmpty ? inputs[i] : nil }
}

/// Row-major strides of a shape, in elements.
func stridesOf(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) { s[d] = acc; acc *= shape[d] }
    return s
}

/// Numpy-style broadcast of two shapes, or nil when they are incompatible.
func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let x = i < r - a.count ? 1 : a[i - (r - a.count)]
        let y = i < r - b.count ? 1 : b[i - (r - b.count)]
        if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
    }
    return out
}

/// Strides that read `shape` broadcast to `to` (0 on broadcast axes).
func broadcastStrides(_ shape: [Int], to: [Int]) -> [Int] {
    let s = stridesOf(shape)
    let off = to.count - shape.count
    return (0..<to.count).map { i in i < off ? 0 : (shape[i - off] == 1 && to[i] != 1 ? 0 : s[i - off]) }
}

/// Normalizes a possibly negative axis against a rank.
func normalizeAxis(_ axis: Int, rank: Int, _ node: OnnxNode, scalarAllowed: Bool = true) throws -> Int {
    // Ops that index the shape at the axis (Split, Gather, Concat) need rank ≥ 1: a scalar there crashed the
    // loader (found by Scripts/fuzz, FuzzONNX).
    guard scalarAllowed || rank >= 1 else { throw EngineError("\(node.label): a scalar input has no axis \(axis)") }
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < max(rank, 1) else { throw EngineError("\(node.label): axis \(axis) out of range for rank \(rank)") }
    return a
}
