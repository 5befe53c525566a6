import Foundation

/// A bounds-checked reader of the protobuf wire format over a byte range: every read is checked against the
/// range so that a corrupt or truncated file gives an `EngineError`, never a crash.
struct ProtobufReader {
    /// Wire types of protobuf (fields in groups, 3 and 4, are obsolete and rejected).
    enum WireType: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.position = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? bytes.count
    }

    var isAtEnd: Bool { position >= end }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw EngineError("truncated varint at byte \(position)") }
            let b = bytes[position]; position += 1
            if shift < 64 { result |= UInt64(b & 0x7f) << shift }
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift >= 70 { throw EngineError("varint longer than 10 bytes at byte \(position)") }
        }
    }

    /// Next field's number and wire type.
    mutating func tag() throws -> (field: Int, wire: WireType) {
        let t = try varint()
        guard let wire = WireType(rawValue: t & 7) else { throw EngineError("unsupported wire type \(t & 7) at byte \(position)") }
        let field = t >> 3
        guard field > 0, field < (1 << 29) else { throw EngineError("invalid field number \(field) at byte \(position)") }
        return (Int(field), wire)
    }

    mutating func fixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw EngineError("truncated fixed32 at byte \(position)") }
        let v = bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self); position += 4
        return UInt32(littleEndian: v)
    }

    mutating func fixed64() throws -> UInt64 {
        guard end - position >= 8 else { throw EngineError("truncated fixed64 at byte \(position)") }
        let v = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self); position += 8
        return UInt64(littleEndian: v)
    }

    /// The byte range of a length-delimited field.
    mutating func lengthDelimited() throws -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - position) else { throw EngineError("length \(n) at byte \(position) runs past the end of its message") }
        let r = position..<(position + Int(n)); position += Int(n)
        return r
    }

    mutating func subReader() throws -> ProtobufReader { ProtobufReader(bytes, range: try lengthDelimited()) }

    mutating func string() throws -> String {
        let r = try lengthDelimited()
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)
    }

    mutating func data() throws -> [UInt8] { Array(bytes[try lengthDelimited()]) }

    mutating func skip(_ wire: WireType) throws {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }

    /// Int64 values of a repeated field, packed or not.
    mutating func appendInt64s(_ wire: WireType, to out: inout [Int64]) throws {
        if wire == .lengthDelimited {
            var sub = try subReader()
            while !sub.isAtEnd { out.append(Int64(bitPattern: try sub.varint())) }
        } else if wire == .varint {
            out.append(Int64(bitPattern: try varint()))
        } else { throw EngineError("wrong wire type for an integer field at byte \(position)") }
    }

    /// Float values of a repeated field, packed or not.
    mutating func appendFloats(_ wire: WireType, to out: inout [Float]) throws {
        if wire == .lengthDelimited {
            var sub = try subReader()
            while !sub.isAtEnd { out.append(Float(bitPattern: try sub.fixed32())) }
        } else if wire == .fixed32 {
            out.append(Float(bitPattern: try fixed32()))
        } else { throw EngineError("wrong wire type for a float field at byte \(position)") }
    }

    /// Double values of a repeated field, packed or not.
    mutating func appendDoubles(_ wire: WireType, to out: inout [Double]) throws {
        if wire == .lengthDelimited {
            var sub = try subReader()
            while !sub.isAtEnd { out.append(Double(bitPattern: try sub.fixed64())) }
        } else if wire == .fixed64 {
            out.append(Double(bitPattern: try fixed64()))
        } else { throw EngineError("wrong wire type for a double field at byte \(position)") }
    }

    mutating func int64(_ wire: WireType) throws -> Int64 {
        guard wire == .varint else { throw EngineError("wrong wire type for an integer field at byte \(position)") }
        return Int64(bitPattern: try varint())
    }

    mutating func expect(_ wire: WireType, _ expected: WireType, _ what: String) throws {
        guard wire == expected else { throw EngineError("wrong wire type for \(what) at byte \(position)") }
    }
}
