import Foundation

/// One attribute of an ONNX node (AttributeProto), with the kinds the engine's ops use.
struct OnnxAttribute: Sendable {
    var name = ""
    var f: Float?
    var i: Int64?
    var s: String?
    var t: Tensor?
    var floats: [Float] = []
    var ints: [Int64] = []
    var hasGraph = false
}

/// One ONNX node (NodeProto).
struct OnnxNode: Sendable {
    var name = ""
    var opType = ""
    var domain = ""
    var inputs: [String] = []
    var outputs: [String] = []
    var attributes: [String: OnnxAttribute] = [:]
}

/// A graph input or output (ValueInfoProto): name, element type code and dims (nil for symbolic).
struct OnnxValueInfo: Sendable {
    var name = ""
    var elemType = 0
    var dims: [Int?] = []
    var hasShape = false
}

/// The parts of an ONNX ModelProto the engine uses.
struct OnnxModel: Sendable {
    var irVersion: Int64 = 0
    var producer = ""
    var producerVersion = ""
    var opsets: [String: Int] = [:]
    var metadata: [String: String] = [:]
    var nodes: [OnnxNode] = []
    var initializers: [String: Tensor] = [:]
    var inputs: [OnnxValueInfo] = []
    var outputs: [OnnxValueInfo] = []

    /// The default-domain opset ("" or "ai.onnx").
    var opset: Int { opsets[""] ?? opsets["ai.onnx"] ?? 0 }

    /// Parses a serialized ModelProto.
    static func parse(_ bytes: [UInt8]) throws -> OnnxModel {
        guard !bytes.isEmpty else { throw EngineError("empty file") }
        return try bytes.withUnsafeBytes { buf in
            var r = ProtobufReader(buf)
            var m = OnnxModel()
            var sawGraph = false
            while !r.isAtEnd {
                let (field, wire) = try r.tag()
                switch field {
                case 1: m.irVersion = try r.int64(wire)
                case 2: try r.expect(wire, .lengthDelimited, "producer_name"); m.producer = try r.string()
                case 3: try r.expect(wire, .lengthDelimited, "producer_version"); m.producerVersion = try r.string()
                case 7:
                    try r.expect(wire, .lengthDelimited, "graph")
                    var sub = try r.subReader(); try parseGraph(&sub, into: &m); sawGraph = true
                case 8:
                    try r.expect(wire, .lengthDelimited, "opset_import")
                    var sub = try r.subReader()
                    var domain = "", version: Int64 = 0
                    while !sub.isAtEnd {
                        let (f, w) = try sub.tag()
                        switch f {
                        case 1: try sub.expect(w, .lengthDelimited, "opset domain"); domain = try sub.string()
                        case 2: version = try sub.int64(w)
                        default: try sub.skip(w)
                        }
                    }
                    m.opsets[domain] = Int(clamping: version)
                case 14:
                    try r.expect(wire, .lengthDelimited, "metadata_props")
                    var sub = try r.subReader()
                    var key = "", value = ""
                    while !sub.isAtEnd {
                        let (f, w) = try sub.tag()
                        switch f {
                        case 1: try sub.expect(w, .lengthDelimited, "metadata key"); key = try sub.string()
                        case 2: try sub.expect(w, .lengthDelimited, "metadata value"); value = try sub.string()
                        default: try sub.skip(w)
                        }
                    }
                    m.metadata[key] = value
                default: try r.skip(wire)
                }
            }
            guard sawGraph else { throw EngineError("not an ONNX model: no graph found") }
            guard m.irVersion > 0 else { throw EngineError("not an ONNX model: no ir_version") }
            return m
        }
    }

    private static func parseGraph(_ r: inout ProtobufReader, into m: inout OnnxModel) throws {
        while !r.isAtEnd {
            let (field, wire) = try r.tag()
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, "node"); var sub = try r.subReader()
                m.nodes.append(try parseNode(&sub))
            case 5:
                try r.expect(wire, .lengthDelimited, "initializer"); var sub = try r.subReader()
                let (name, t) = try parseTensor(&sub)
                m.initializers[name] = t
            case 15: throw EngineError("sparse initializers are not supported")
            case 11, 12:
                try r.expect(wire, .lengthDelimited, "graph input/output"); var sub = try r.subReader()
                let v = try parseValueInfo(&sub)
                if field == 11 { m.inputs.append(v) } else { m.outputs.append(v) }
            default: try r.skip(wire)
            }
        }
    }

    private static func parseNode(_ r: inout ProtobufReader) throws -> OnnxNode {
        var n = OnnxNode()
        while !r.isAtEnd {
            let (field, wire) = try r.tag()
            switch field {
            case 1: try r.expect(wire, .lengthDelimited, "node input"); n.inputs.append(try r.string())
            case 2: try r.expect(wire, .lengthDelimited, "node output"); n.outputs.append(try r.string())
            case 3: try r.expect(wire, .lengthDelimited, "node name"); n.name = try r.string()
            case 4: try r.expect(wire, .lengthDelimited, "op_type"); n.opType = try r.string()
            case 7: try r.expect(wire, .lengthDelimited, "node domain"); n.domain = try r.string()
            case 5:
                try r.expect(wire, .lengthDelimited, "attribute"); var sub = try r.subReader()
                let a = try parseAttribute(&sub)
                n.attributes[a.name] = a
            default: try r.skip(wire)
            }
        }
        return n
    }

    private static func parseAttribute(_ r: inout ProtobufReader) throws -> OnnxAttribute {
        var a = OnnxAttribute()
        while !r.isAtEnd {
            let (field, wire) = try r.tag()
            switch field {
            case 1: try r.expect(wire, .lengthDelimited, "attribute name"); a.name = try r.string()
            case 2: try r.expect(wire, .fixed32, "attribute f"); a.f = Float(bitPattern: try r.fixed32())
            case 3: a.i = try r.int64(wire)
            case 4: try r.expect(wire, .lengthDelimited, "attribute s"); a.s = try r.string()
            case 5:
                try r.expect(wire, .lengthDelimited, "attribute t"); var sub = try r.subReader()
                a.t = try parseTensor(&sub).1
            case 6: try r.skip(wire); a.hasGraph = true
            case 7: try r.appendFloats(wire, to: &a.floats)
            case 8: try r.appendInt64s(wire, to: &a.ints)
            case 21: throw EngineError("attribute references (ref_attr_name) are only valid inside functions")
            default: try r.skip(wire)
            }
        }
        return a
    }

    static func parseTensor(_ r: inout ProtobufReader) throws -> (String, Tensor) {
        var dims: [Int64] = [], dtype = 0, name = ""
        var raw: [UInt8]?, floats: [Float] = [], ints: [Int64] = [], doubles: [Double] = []
        var external = false
        while !r.isAtEnd {
            let (field, wire) = try r.tag()
            switch field {
            case 1: try r.appendInt64s(wire, to: &dims)
            case 2: dtype = Int(clamping: try r.int64(wire))
            case 3: throw EngineError("segmented tensors are not supported")
            case 4: try r.appendFloats(wire, to: &floats)
            case 5, 7, 11: try r.appendInt64s(wire, to: &ints)
            case 10: try r.appendDoubles(wire, to: &doubles)
            case 8: try r.expect(wire, .lengthDelimited, "tensor name"); name = try r.string()
            case 9: try r.expect(wire, .lengthDelimited, "raw_data"); raw = try r.data()
            case 13: try r.skip(wire); external = true
            case 14: if try r.int64(wire) == 1 { external = true }
            default: try r.skip(wire)
            }
        }
        if external {
            throw EngineError("tensor '\(name)': external data is not supported (save the model with all tensors inside the .onnx file)")
        }
        return (name, try Tensor.decode(dtypeCode: dtype, dims: dims, raw: raw, floatData: floats, intData: ints,
                                        doubleData: doubles, name: name))
    }

    private static func parseValueInfo(_ r: inout ProtobufReader) throws -> OnnxValueInfo {
        var v = OnnxValueInfo()
        while !r.isAtEnd {
            let (field, wire) = try r.tag()
            switch field {
            case 1: try r.expect(wire, .lengthDelimited, "value name"); v.name = try r.string()
            case 2:
                try r.expect(wire, .lengthDelimited, "value type"); var type = try r.subReader()
                while !type.isAtEnd {
                    let (f, w) = try type.tag()
                    guard f == 1 else { try type.skip(w); continue }
                    try type.expect(w, .lengthDelimited, "tensor_type"); var tt = try type.subReader()
                    while !tt.isAtEnd {
                        let (f2, w2) = try tt.tag()
                        if f2 == 1 { v.elemType = Int(clamping: try tt.int64(w2)) } else if f2 == 2 {
                            try tt.expect(w2, .lengthDelimited, "shape"); var shape = try tt.subReader(); v.hasShape = true
                            while !shape.isAtEnd {
                                let (f3, w3) = try shape.tag()
                                guard f3 == 1 else { try shape.skip(w3); continue }
                                try shape.expect(w3, .lengthDelimited, "dim"); var dim = try shape.subReader()
                                var value: Int?
                                while !dim.isAtEnd {
                                    let (f4, w4) = try dim.tag()
                                    if f4 == 1 { let d = try dim.int64(w4); value = d > 0 && d < (1 << 31) ? Int(d) : nil } else { try dim.skip(w4) }
                                }
                                v.dims.append(value)
                            }
                        } else { try tt.skip(w2) }
                    }
                }
            default: try r.skip(wire)
            }
        }
        return v
    }
}
