/// Settings that cannot work (raised before any connection attempt).
public struct MQTTError: Error, CustomStringConvertible {
    /// One line per problem, naming the setting.
    public var problems: [String]
    /// The problems, one per line.
    public var description: String { problems.joined(separator: "\n") }
}
