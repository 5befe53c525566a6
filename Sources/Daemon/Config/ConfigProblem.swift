import Foundation

/// One mistake found in a config file: the key path it concerns (`cameras[1].source.device`), what is wrong,
/// and the line in the file when known.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path with sequence indexes, e.g. `cameras[1].source.device`; empty for the whole file.
    public var path: String
    /// What is wrong, for people: `/dev/video3 does not exist`.
    public var message: String
    /// 1-based line in the YAML file, when the problem has a place in it.
    public var line: Int?

    /// Makes a problem.
    public init(path: String, message: String, line: Int? = nil) {
        self.path = path; self.message = message; self.line = line
    }

    /// `cameras[1].source.device: /dev/video3 does not exist`.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A config file that cannot be used, with every problem found in it (not just the first).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The config file.
    public var file: String
    /// All problems, in file order.
    public var problems: [ConfigProblem]

    /// Makes the error.
    public init(file: String, problems: [ConfigProblem]) { self.file = file; self.problems = problems }

    /// One line per problem, compiler style: `FILE:LINE: key.path: message`.
    public var lines: [String] {
        problems.map { p in p.line.map { "\(file):\($0): \(p)" } ?? "\(file): \(p)" }
    }

    /// All lines joined.
    public var description: String { lines.joined(separator: "\n") }
}
