import Foundation

/// The character set for names that become part of MQTT topics and file names (`site.line`, `site.station`,
/// `cameras[].id`, the levels of `mqtt.topic_prefix`): 1–64 of `A–Z a–z 0–9 . _ -`, not starting with '.'.
///
/// Why this strict: '/' adds a topic level or a directory, '+' and '#' are MQTT wildcards that make a topic
/// unpublishable, NUL and control characters are invalid in MQTT topics and break logs, spaces and non-ASCII
/// letters trip up MES subscribers, shells and file systems; a leading '.' hides a file and makes `..`.
enum SafeName {
    /// Longest name accepted.
    static let maxLength = 64

    /// The rule, for messages and docs.
    static let rule = "1–64 characters from A–Z a–z 0–9 . _ -, not starting with '.'"

    /// Why `name` is not safe, or nil when it is.
    static func problem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "must not be empty" }
        let shown = printable(name)
        if bytes.count > maxLength { return "'\(shown)' is \(bytes.count) characters long; allowed: \(rule)" }
        if let bad = name.unicodeScalars.first(where: { !isAllowed($0) }) {
            return "'\(shown)' contains \(describe(bad)); allowed: \(rule)"
        }
        if bytes[0] == UInt8(ascii: ".") { return "'\(shown)' starts with '.'; allowed: \(rule)" }
        return nil
    }

    private static func isAllowed(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": return true
        default: return false
        }
    }

    /// `'/'`, `a space`, `U+0000` — how a rejected character is named in a message.
    private static func describe(_ c: Unicode.Scalar) -> String {
        if c == " " { return "a space" }
        if c.value < 0x20 || c.value == 0x7f || !c.isASCII { return "U+" + String(format: "%04X", c.value) }
        return "'\(c)'"
    }

    /// The name with control characters escaped, so that a message cannot break a log line or a terminal.
    static func printable(_ name: String) -> String {
        String(name.unicodeScalars.map { c -> String in
            c.value < 0x20 || c.value == 0x7f ? "\\u{" + String(c.value, radix: 16) + "}" : String(c)
        }.joined())
    }
}
