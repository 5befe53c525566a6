import Foundation
import Yams

/// Walks a composed YAML node tree and reads typed values out of it, collecting every problem instead of
/// stopping at the first.
///
/// Why not `Codable`: `YAMLDecoder` stops at the first error, cannot report unknown keys, and loses the key
/// path of nested sequences. Reading the node tree ourselves gives one problem per mistake, each with its key
/// path and line. Unknown keys are found by bookkeeping: every read marks its key as used, and when a mapping
/// has been read (`ConfigMapping.read`), the keys nobody asked for are reported, with a suggestion when one is
/// close to a known key.
final class ConfigReader {
    /// Problems found so far, in the order found.
    private(set) var problems: [ConfigProblem] = []
    /// Things accepted but worth changing (deprecated keys), one sentence each; logged at start and reload.
    private(set) var warnings: [String] = []
    /// Directory that relative paths in the file are resolved against (the config file's directory).
    let baseDirectory: String

    init(baseDirectory: String) { self.baseDirectory = baseDirectory }

    /// Records a problem at `path`, with the line of `node` when there is one.
    func report(_ path: ConfigPath, _ message: String, node: Node? = nil) {
        problems.append(ConfigProblem(path: path.description, message: message, line: node?.mark.map { $0.line }))
    }

    /// Records a warning: the config is valid, but should be changed.
    func warn(_ message: String) { warnings.append(message) }

    /// Records a problem made elsewhere.
    func problems(append problem: ConfigProblem) { problems.append(problem) }

    /// Reads `node` as a mapping; a node of another kind is reported and read as an empty mapping so that
    /// the defaults apply and reading goes on.
    func mapping(_ node: Node?, at path: ConfigPath) -> ConfigMapping {
        switch node {
        case .mapping(let m)?:
            var pairs: [(key: String, value: Node, keyNode: Node)] = []
            for (k, v) in m {
                guard case .scalar(let s) = k else {
                    report(path, "keys must be plain names", node: k); continue
                }
                pairs.append((s.string, v, k))
            }
            return ConfigMapping(reader: self, path: path, pairs: pairs, node: node)
        case nil:
            return ConfigMapping(reader: self, path: path, pairs: [], node: nil)
        case let other?:
            if !other.isNull { report(path, "expected a mapping of keys, got \(other.kindDescription)", node: other) }
            return ConfigMapping(reader: self, path: path, pairs: [], node: other)
        }
    }

    /// Reads `node` as a sequence of (element, path) pairs; another kind is reported and read as empty.
    func sequence(_ node: Node, at path: ConfigPath) -> [(node: Node, path: ConfigPath)] {
        switch node {
        case .sequence(let s): return s.enumerated().map { ($1, path.index($0)) }
        default:
            report(path, "expected a list, got \(node.kindDescription)", node: node)
            return []
        }
    }

    /// Resolves a path from the file against the config file's directory.
    func resolvePath(_ raw: String) -> String {
        let expanded = (raw as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        return ((baseDirectory as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
    }
}

/// A key path inside the config file, printed as `cameras[1].source.device`.
struct ConfigPath: CustomStringConvertible, Sendable {
    private var text: String
    /// The whole file.
    static let root = ConfigPath(text: "")
    /// This path followed by a mapping key.
    func key(_ k: String) -> ConfigPath { ConfigPath(text: text.isEmpty ? k : "\(text).\(k)") }
    /// This path followed by a sequence index.
    func index(_ i: Int) -> ConfigPath { ConfigPath(text: "\(text)[\(i)]") }
    var description: String { text }
}

/// One mapping of the config being read. Each typed getter marks its key as used; `read` reports the rest.
final class ConfigMapping {
    let reader: ConfigReader
    /// Where this mapping is.
    let path: ConfigPath
    /// The mapping's node (nil when the section is absent).
    let node: Node?
    private let pairs: [(key: String, value: Node, keyNode: Node)]
    private var used: Set<String> = []

    init(reader: ConfigReader, path: ConfigPath, pairs: [(key: String, value: Node, keyNode: Node)], node: Node?) {
        self.reader = reader; self.path = path; self.pairs = pairs; self.node = node
    }

    /// Reads the mapping with `body`, then reports every key `body` did not read as unknown.
    func read<T>(_ body: (ConfigMapping) -> T) -> T {
        let value = body(self)
        reportUnknownKeys()
        return value
    }

    /// The value of `key` and its path, marking the key as used; nil when absent or null (`key:` or `~`).
    func value(_ key: String) -> (node: Node, path: ConfigPath)? {
        used.insert(key)
        guard let pair = pairs.first(where: { $0.key == key }), !pair.value.isNull else { return nil }
        return (pair.value, path.key(key))
    }

    /// True when the key is present with a non-null value. Marks the key as known.
    func has(_ key: String) -> Bool {
        used.insert(key)
        return pairs.contains { $0.key == key && !$0.value.isNull }
    }

    /// The keys present in the mapping, in file order (for mappings keyed by names, e.g. class names).
    var keys: [String] { pairs.map(\.key) }

    /// Reports a problem at `key` of this mapping.
    func report(_ key: String, _ message: String) {
        let node = pairs.first(where: { $0.key == key })?.value ?? node
        reader.report(path.key(key), message, node: node)
    }

    /// Reports a problem about the mapping itself.
    func reportHere(_ message: String) { reader.report(path, message, node: node) }

    // MARK: sections

    /// Reads the sub-mapping at `key` with `body` (an absent section reads as empty, so defaults apply).
    func section<T>(_ key: String, _ body: (ConfigMapping) -> T) -> T {
        let v = value(key)
        return reader.mapping(v?.node, at: path.key(key)).read(body)
    }

    /// Reads the list at `key`, each element with `body`; absent → empty.
    func list<T>(_ key: String, _ body: (Node, ConfigPath) -> T?) -> [T] {
        guard let v = value(key) else { return [] }
        return reader.sequence(v.node, at: v.path).compactMap { body($0.node, $0.path) }
    }

    // MARK: scalars

    /// A string; any scalar is accepted as its text. Empty strings are reported.
    func string(_ key: String) -> String? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s) = v.node else {
            reader.report(v.path, "expected a text value, got \(v.node.kindDescription)", node: v.node); return nil
        }
        if s.string.isEmpty { reader.report(v.path, "must not be empty", node: v.node); return nil }
        return s.string
    }

    /// A name that becomes part of MQTT topics and file names: a string checked against `SafeName`.
    func safeName(_ key: String) -> String? {
        guard let text = string(key) else { return nil }
        if let problem = SafeName.problem(text) { report(key, problem); return nil }
        return text
    }

    /// A required `safeName`.
    func requiredSafeName(_ key: String) -> String? {
        if !has(key) { report(key, "is required"); return nil }
        return safeName(key)
    }

    /// A string with a default.
    func string(_ key: String, default d: String) -> String { string(key) ?? d }

    /// A required string.
    func requiredString(_ key: String) -> String? {
        if !has(key) { report(key, "is required"); used.insert(key); return nil }
        return string(key)
    }

    /// An integer within `range`.
    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.node.exactInt else {
            if v.node.tagName == .int {  // an integer too large for Int
                reader.report(v.path, "\(v.node.valueDescription) is out of range \(range.lowerBound)…\(range.upperBound)",
                              node: v.node)
            } else {
                reader.report(v.path, "expected an integer, got \(v.node.valueDescription)", node: v.node)
            }
            return nil
        }
        guard range.contains(i) else {
            reader.report(v.path, "\(i) is out of range \(range.lowerBound)…\(range.upperBound)", node: v.node)
            return nil
        }
        return i
    }

    /// An integer within `range`, with a default.
    func int(_ key: String, default d: Int, in range: ClosedRange<Int>) -> Int { int(key, in: range) ?? d }

    /// A number (integer or decimal) within `range`.
    func double(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard let v = value(key) else { return nil }
        guard let x = v.node.number else {
            reader.report(v.path, "expected a number, got \(v.node.valueDescription)", node: v.node); return nil
        }
        guard range.contains(x) else {
            reader.report(v.path, "\(format(x)) is out of range \(format(range.lowerBound))…\(format(range.upperBound))",
                          node: v.node)
            return nil
        }
        return x
    }

    /// A number within `range`, with a default.
    func double(_ key: String, default d: Double, in range: ClosedRange<Double>) -> Double {
        double(key, in: range) ?? d
    }

    /// `true` or `false`.
    func bool(_ key: String, default d: Bool) -> Bool {
        guard let v = value(key) else { return d }
        guard v.node.tagName == .bool, let b = v.node.bool else {
            reader.report(v.path, "expected true or false, got \(v.node.valueDescription)", node: v.node); return d
        }
        return b
    }

    /// One of an enumeration's raw values.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String) -> E? where E.RawValue == String {
        guard let text = string(key) else { return nil }
        if let e = E(rawValue: text) { return e }
        let allowed = E.allCases.map(\.rawValue)
        report(key, "'\(text)' is not one of \(allowed.joined(separator: ", "))" + suggestion(text, among: allowed))
        return nil
    }

    /// One of an enumeration's raw values, with a default.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default d: E) -> E where E.RawValue == String {
        choice(key) ?? d
    }

    /// A duration: a number of seconds or text with a unit (`250ms`, `2s`, `5m`, `1h`, `7d`), within `range`.
    ///
    /// The range is checked on the number as written, before it becomes a `Duration`: a value such as `1e19s`
    /// does not fit in one and used to stop the process (SIGILL on integer overflow), also on SIGHUP.
    func duration(_ key: String, in range: ClosedRange<Duration>) -> Duration? {
        guard let v = value(key) else { return nil }
        let seconds: Double?
        if let x = v.node.number { seconds = x }
        else if case .scalar(let s) = v.node { seconds = ConfigMapping.parseSeconds(s.string) }
        else { seconds = nil }
        guard let seconds else {
            reader.report(v.path, "expected a duration such as 500ms, 2s, 5m or 1h, got \(v.node.valueDescription)",
                          node: v.node)
            return nil
        }
        let ms = (seconds * 1000).rounded()
        guard ms >= ConfigMapping.milliseconds(range.lowerBound), ms <= ConfigMapping.milliseconds(range.upperBound)
        else {
            let shown = abs(ms) < 1e15 ? ConfigMapping.describe(.milliseconds(Int64(ms))) : v.node.valueDescription
            reader.report(v.path, "\(shown) is out of range "
                          + "\(ConfigMapping.describe(range.lowerBound))…\(ConfigMapping.describe(range.upperBound))",
                          node: v.node)
            return nil
        }
        return .milliseconds(Int64(ms))
    }

    /// A size in bytes: an integer, or text with a unit (`512KB`, `32MB`, `1GB`; 1 KB = 1024 bytes), within
    /// `range`, with a default.
    func byteSize(_ key: String, default d: Int, in range: ClosedRange<Int>) -> Int {
        guard let v = value(key) else { return d }
        var bytes: Double?
        if let i = v.node.exactInt { bytes = Double(i) }
        else if case .scalar(let s) = v.node {
            let text = s.string.trimmingCharacters(in: .whitespaces).uppercased()
            for (unit, factor) in [("KB", 1024.0), ("MB", 1024.0 * 1024), ("GB", 1024.0 * 1024 * 1024), ("B", 1)]
            where text.hasSuffix(unit) {
                bytes = Double(text.dropLast(unit.count).trimmingCharacters(in: .whitespaces)).map { $0 * factor }
                break
            }
        }
        guard let bytes, bytes.isFinite else {
            reader.report(v.path, "expected a size such as 512KB, 32MB or a number of bytes, got \(v.node.valueDescription)",
                          node: v.node)
            return d
        }
        guard bytes >= Double(range.lowerBound), bytes <= Double(range.upperBound) else {
            reader.report(v.path, "\(v.node.valueDescription) is out of range \(range.lowerBound)…\(range.upperBound) bytes",
                          node: v.node)
            return d
        }
        return Int(bytes)
    }

    /// A duration with a default.
    func duration(_ key: String, default d: Duration, in range: ClosedRange<Duration>) -> Duration {
        duration(key, in: range) ?? d
    }

    // MARK: files

    /// What a path in the config must point at.
    enum PathRequirement {
        /// An existing regular file (or device node) that we can read.
        case readableFile
        /// A camera device node (or a link to one): when it exists it must be a character device; a missing one
        /// is a camera that is unplugged, which the daemon reports as down and retries, not a config error.
        case device
        /// An existing directory.
        case directory
        /// An existing readable file or directory.
        case fileOrDirectory
        /// A place where we may create the file or directory: its nearest existing ancestor is a directory.
        case creatable
    }

    /// A path, resolved against the config file's directory and checked against `requirement`.
    func path(_ key: String, _ requirement: PathRequirement) -> String? {
        guard let raw = string(key), let v = pairs.first(where: { $0.key == key }) else { return nil }
        let resolved = reader.resolvePath(raw)
        let p = path.key(key)
        var st = stat()
        let exists = stat(resolved, &st) == 0
        let kind = st.st_mode & S_IFMT
        switch requirement {
        case .readableFile:
            if !exists { reader.report(p, "\(resolved) does not exist", node: v.value) }
            else if kind == S_IFDIR { reader.report(p, "\(resolved) is a directory, expected a file", node: v.value) }
            else if access(resolved, R_OK) != 0 { reader.report(p, "\(resolved) is not readable", node: v.value) }
        case .device:
            if exists && kind != S_IFCHR { reader.report(p, "\(resolved) is not a character device", node: v.value) }
        case .fileOrDirectory:
            if !exists { reader.report(p, "\(resolved) does not exist", node: v.value) }
            else if access(resolved, R_OK) != 0 { reader.report(p, "\(resolved) is not readable", node: v.value) }
        case .directory:
            if !exists { reader.report(p, "\(resolved) does not exist", node: v.value) }
            else if kind != S_IFDIR { reader.report(p, "\(resolved) is not a directory", node: v.value) }
        case .creatable:
            var ancestor = (resolved as NSString).deletingLastPathComponent
            while !ancestor.isEmpty, stat(ancestor, &st) != 0, ancestor != "/" {
                ancestor = (ancestor as NSString).deletingLastPathComponent
            }
            if st.st_mode & S_IFMT != S_IFDIR {
                reader.report(p, "cannot create \(resolved): \(ancestor) is not a directory", node: v.value)
            }
        }
        return resolved
    }

    // MARK: unknown keys

    private func reportUnknownKeys() {
        let known = Array(used)
        for pair in pairs where !used.contains(pair.key) {
            reader.report(path.key(pair.key), "unknown key" + suggestion(pair.key, among: known), node: pair.keyNode)
        }
    }

    private func suggestion(_ word: String, among candidates: [String]) -> String {
        var best: (word: String, distance: Int)?
        for candidate in candidates.sorted() {
            let d = editDistance(word.lowercased(), candidate.lowercased())
            if d <= max(1, candidate.count / 3), d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best.map { " (did you mean '\($0.word)'?)" } ?? ""
    }

    private func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }

    /// Parses `250ms`, `2s`, `1.5s`, `5m`, `1h`, `7d` into seconds (not negative, but not bounded, possibly
    /// infinite for `1e308d`: the caller checks the range before making a `Duration`).
    static func parseSeconds(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let x = Double(number), x.isFinite, x >= 0 else { return nil }
            return x * factor
        }
        return nil
    }

    /// A duration's length in milliseconds, as a number that cannot overflow.
    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    /// `250ms`, `2s`, `5m`, `1h`, `1d` — the shortest exact form.
    static func describe(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        if ms % 86_400_000 == 0 && ms > 0 { return "\(ms / 86_400_000)d" }
        if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for "did you
/// mean" suggestions: typos are mostly one wrong, missing, extra or swapped letter.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
        }
    }
    return d[a.count][b.count]
}

extension Node {
    /// The resolved tag's name (`Tag.name` is internal to Yams; its description is the name).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.description) }

    /// True for `~`, `null` and an empty value.
    var isNull: Bool {
        if case .scalar = self { return tagName == .null }
        return false
    }

    /// The integer value of a plain integer scalar (quoted text is not an integer).
    var exactInt: Int? { tagName == .int ? int : nil }

    /// The value of a plain integer or decimal scalar.
    var number: Double? {
        switch tagName {
        case .int: return int.map(Double.init)
        case .float: return float.flatMap { $0.isFinite ? $0 : nil }
        default: return nil
        }
    }

    /// `a list`, `a mapping`, `text 'abc'`, for messages.
    var kindDescription: String {
        switch self {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s): return s.string.isEmpty ? "an empty value" : "'\(s.string)'"
        }
    }

    /// The value as written, for messages.
    var valueDescription: String { kindDescription }
}
