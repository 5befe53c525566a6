import Foundation

/// A tensor in NumPy's .npy format (version 1–3, little-endian, C order): what `inspectd run-model` reads and
/// writes. Values are held as Float whatever the stored type (float32/64, u8, i8, i32, i64, bool).
public struct NumpyArray: Sendable {
    /// Shape as stored.
    public var shape: [Int]
    /// Values in C order, converted to Float.
    public var values: [Float]
    /// The stored dtype descriptor, e.g. "<f4".
    public var descriptor: String

    public init(shape: [Int], values: [Float], descriptor: String = "<f4") {
        self.shape = shape; self.values = values; self.descriptor = descriptor
    }

    /// Reads a .npy file; throws `EngineError` naming the problem.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError("\(path): cannot read the file") }
        do { try self.init(bytes: [UInt8](data)) } catch let e as EngineError { throw EngineError("\(path): \(e.description)") }
    }

    /// Parses the bytes of a .npy file.
    public init(bytes b: [UInt8]) throws {
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else { throw EngineError("not a .npy file (bad magic)") }
        let major = b[6]
        let headerLen: Int, start: Int
        if major == 1 { headerLen = Int(b[8]) | Int(b[9]) << 8; start = 10 } else {
            guard b.count >= 12 else { throw EngineError("truncated .npy header") }
            headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; start = 12
        }
        guard start + headerLen <= b.count else { throw EngineError("truncated .npy header") }
        let header = String(decoding: b[start..<(start + headerLen)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descr = field("descr"), let q1 = descr.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { throw EngineError("no dtype in .npy header") }
        let rest = descr[descr.index(after: q1)...]
        guard let q2 = rest.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { throw EngineError("bad dtype in .npy header") }
        let d = String(rest[..<q2])
        if let f = field("fortran_order"), f.hasPrefix("True") { throw EngineError("Fortran-order arrays are not supported") }
        guard let sh = field("shape"), let open = sh.firstIndex(of: "("), let close = sh.firstIndex(of: ")") else { throw EngineError("no shape in .npy header") }
        let dims = sh[sh.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for s in dims { guard let v = Int(s), v >= 0 else { throw EngineError("bad shape \(sh)") }; shape.append(v) }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let sizes = ["<f4": 4, "<f8": 8, "|u1": 1, "|i1": 1, "<i4": 4, "<i8": 8, "|b1": 1, "<u1": 1, "<i1": 1]
        guard let size = sizes[d] else { throw EngineError("unsupported dtype \(d) (float32, float64, uint8, int8, int32, int64, bool)") }
        let body = start + headerLen
        guard count < Int.max / 8, b.count - body == count * size else {
            throw EngineError("data holds \(b.count - body) bytes, shape \(shape) of \(d) needs \(count * size)")
        }
        var out = [Float](repeating: 0, count: count)
        b.withUnsafeBytes { p in
            for i in 0..<count {
                let o = body + i * size
                switch d {
                case "<f4": out[i] = Float(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt32.self))
                case "<f8": out[i] = Float(Double(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
                case "|u1", "<u1", "|b1": out[i] = Float(p[o])
                case "|i1", "<i1": out[i] = Float(Int8(bitPattern: p[o]))
                case "<i4": out[i] = Float(p.loadUnaligned(fromByteOffset: o, as: Int32.self))
                default: out[i] = Float(p.loadUnaligned(fromByteOffset: o, as: Int64.self))
                }
            }
        }
        self.init(shape: shape, values: out, descriptor: d)
    }

    /// The .npy bytes of this array stored as float32.
    public func float32Bytes() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        out += Array(header.utf8)
        values.withUnsafeBytes { out += $0 }
        return out
    }

    /// Writes the array as float32 .npy.
    public func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(float32Bytes())) else {
            throw EngineError("\(path): cannot write the file")
        }
    }
}
