/// A minimal JSON object writer for the per-frame hot path: Foundation's JSONEncoder costs tens of microseconds
/// per defects payload on Linux, which would cap the pipeline well below the audit writer's throughput.
/// Produces the same keys and values as the `Codable` payload types (tests decode its output to check that).
struct JSONWriter {
    private(set) var text = ""

    init(capacity: Int = 512) { text.reserveCapacity(capacity) }

    mutating func raw(_ s: String) { text += s }

    mutating func key(_ k: String) {
        if let last = text.utf8.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "[") { text += "," }
        string(k); text += ":"
    }

    mutating func string(_ s: String) {
        text += "\""
        var needsEscape = false
        for u in s.utf8 where u < 0x20 || u == UInt8(ascii: "\"") || u == UInt8(ascii: "\\") { needsEscape = true; break }
        if !needsEscape { text += s; text += "\""; return }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }

    mutating func number(_ v: Double) {
        guard v.isFinite else { text += "0"; return }
        if v == v.rounded(), abs(v) < 1e15 { text += String(Int64(v)) } else { text += String(v) }
    }

    mutating func number(_ v: Int) { text += String(v) }
    mutating func number(_ v: UInt64) { text += String(v) }

    mutating func field(_ k: String, _ v: String) { key(k); string(v) }
    mutating func field(_ k: String, _ v: Double) { key(k); number(v) }
    mutating func field(_ k: String, _ v: Int) { key(k); number(v) }
    mutating func field(_ k: String, _ v: UInt64) { key(k); number(v) }
}
