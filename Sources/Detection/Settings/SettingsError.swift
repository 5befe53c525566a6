/// Settings that failed validation; thrown when building a detector or judge from unchecked settings.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    /// Every problem found, each naming its key.
    public var problems: [SettingsProblem]
    /// Creates an error from problems.
    public init(problems: [SettingsProblem]) { self.problems = problems }
    /// One line per problem.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
