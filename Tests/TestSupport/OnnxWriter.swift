import Foundation

/// Builds small ONNX files in protobuf wire format for tests (field numbers from onnx.proto).
public struct OnnxWriter {
    /// The bytes written so far.
    public var bytes: [UInt8] = []

    /// An empty message.
    public init() {}

    /// A base-128 varint.
    public mutating func varint(_ v: UInt64) { var v = v; while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }; bytes.append(UInt8(v)) }
    /// A field tag.
    public mutating func tag(_ field: Int, _ wire: Int) { varint(UInt64(field << 3 | wire)) }
    /// A varint field.
    public mutating func int(_ field: Int, _ v: Int64) { tag(field, 0); varint(UInt64(bitPattern: v)) }
    /// A length-delimited field.
    public mutating func bytesField(_ field: Int, _ b: [UInt8]) { tag(field, 2); varint(UInt64(b.count)); bytes += b }
    /// A string field.
    public mutating func string(_ field: Int, _ s: String) { bytesField(field, Array(s.utf8)) }
    /// A nested message built by `build`.
    public mutating func message(_ field: Int, _ build: (inout OnnxWriter) -> Void) {
        var w = OnnxWriter(); build(&w); bytesField(field, w.bytes)
    }

    /// TensorProto with float raw_data.
    public static func floatTensor(_ name: String, _ dims: [Int], _ values: [Float], packedDims: Bool = true) -> (inout OnnxWriter) -> Void {
        { w in
            if packedDims {
                var p = OnnxWriter(); for d in dims { p.varint(UInt64(d)) }; w.bytesField(1, p.bytes)
            } else { for d in dims { w.int(1, Int64(d)) } }
            w.int(2, 1)
            w.string(8, name)
            w.bytesField(9, values.withUnsafeBytes { Array($0) })
        }
    }

    /// ValueInfoProto of a tensor (element type 1 = float).
    public static func valueInfo(_ name: String, _ dims: [Int], elem: Int = 1) -> (inout OnnxWriter) -> Void {
        { w in
            w.string(1, name)
            w.message(2) { t in t.message(1) { tt in
                tt.int(1, Int64(elem))
                tt.message(2) { s in for d in dims { s.message(1) { dim in dim.int(1, Int64(d)) } } }
            } }
        }
    }

    /// A graph node: its op, input and output names, and INTS attributes.
    public struct Node {
        public var op: String; public var inputs: [String]; public var outputs: [String]; public var name: String
        public var intsAttrs: [String: [Int]]
        public init(op: String, inputs: [String], outputs: [String], name: String = "n", intsAttrs: [String: [Int]] = [:]) {
            self.op = op; self.inputs = inputs; self.outputs = outputs; self.name = name; self.intsAttrs = intsAttrs
        }
    }

    /// TensorProto of int64 values (e.g. a Reshape target shape).
    public static func int64Tensor(_ name: String, _ values: [Int64]) -> (inout OnnxWriter) -> Void {
        { w in
            w.int(1, Int64(values.count))
            w.int(2, 7)
            w.string(8, name)
            w.bytesField(9, values.withUnsafeBytes { Array($0) })
        }
    }

    /// A model with one float input `x`, the given nodes and initializers, and output `y` (none when `output` is
    /// nil); its metadata names two classes, open and short.
    public static func model(input: [Int], output: [Int]?, nodes: [Node], initializers: [(String, [Int], [Float])] = [],
                      opset: Int = 18, unknownFields: Bool = false, extraTensor: ((inout OnnxWriter) -> Void)? = nil) -> [UInt8] {
        var m = OnnxWriter()
        m.int(1, 8)
        if unknownFields { m.int(99, 12345); m.tag(98, 5); m.bytes += [1, 2, 3, 4]; m.tag(97, 1); m.bytes += [UInt8](repeating: 7, count: 8) }
        m.string(2, "inspectd-tests")
        m.message(8) { o in o.string(1, ""); o.int(2, Int64(opset)) }
        m.message(7) { g in
            for n in nodes {
                g.message(1) { nw in
                    for i in n.inputs { nw.string(1, i) }
                    for o in n.outputs { nw.string(2, o) }
                    nw.string(3, n.name); nw.string(4, n.op)
                    for (k, v) in n.intsAttrs { nw.message(5) { a in a.string(1, k); a.int(20, 7); for x in v { a.int(8, Int64(x)) } } }
                    if unknownFields { nw.int(50, 1) }
                }
            }
            for (name, dims, vals) in initializers { g.message(5, floatTensor(name, dims, vals, packedDims: !unknownFields)) }
            if let extraTensor { g.message(5, extraTensor) }
            g.message(11, valueInfo("x", input))
            if let output { g.message(12, valueInfo("y", output)) }
        }
        m.message(14) { p in p.string(1, "names"); p.string(2, "{0: 'open', 1: 'short'}") }
        return m.bytes
    }
}
