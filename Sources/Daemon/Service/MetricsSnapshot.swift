import Foundation

/// The values of a Prometheus text exposition, read back: the counters the pipeline keeps are write-only
/// swift-metrics handles, and `/metrics` is their one readable form. The API's camera and status documents
/// read them from here, so they always agree with what Prometheus scrapes.
struct MetricsSnapshot {
    /// One sample line: `name{labels} value`.
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    /// Parses `text` (the text format, version 0.0.4); comment and malformed lines are skipped.
    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { Self.parse(Substring($0)) }
    }

    /// The first sample named `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }?.value
    }

    /// Every sample named `name` whose labels include `labels`.
    func all(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        samples.filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }
    }

    private static func parse(_ line: Substring) -> Sample? {
        guard let first = line.first, first != "#" else { return nil }
        var i = line.startIndex
        while i < line.endIndex, line[i] != "{", line[i] != " " { i = line.index(after: i) }
        let name = String(line[line.startIndex..<i])
        var labels: [String: String] = [:]
        if i < line.endIndex, line[i] == "{" {
            i = line.index(after: i)
            while i < line.endIndex, line[i] != "}" {
                guard let eq = line[i...].firstIndex(of: "=") else { return nil }
                let key = line[i..<eq].trimmingCharacters(in: [",", " "])
                var j = line.index(after: eq)
                guard j < line.endIndex, line[j] == "\"" else { return nil }
                j = line.index(after: j)
                var value = ""
                while j < line.endIndex, line[j] != "\"" {
                    if line[j] == "\\", line.index(after: j) < line.endIndex {
                        j = line.index(after: j)
                        value.append(line[j] == "n" ? "\n" : line[j])
                    } else {
                        value.append(line[j])
                    }
                    j = line.index(after: j)
                }
                guard j < line.endIndex else { return nil }
                labels[key] = value
                i = line.index(after: j)
                while i < line.endIndex, line[i] == "," || line[i] == " " { i = line.index(after: i) }
            }
            guard i < line.endIndex else { return nil }
            i = line.index(after: i)
        }
        let rest = line[i...].split(separator: " ")
        guard let text = rest.first, let value = Double(text) else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }
}
