/// One problem found when validating settings: the config key it concerns and what is wrong with it.
///
/// `key` is spelled as in the YAML config (`detection.classes.short.confidence`, `cameras[0].roi.polygon`)
/// so the daemon can print it unchanged.
public struct SettingsProblem: Sendable, Equatable, CustomStringConvertible {
    /// YAML key path of the offending value.
    public var key: String
    /// What is wrong, for people.
    public var message: String
    /// Creates a problem for `key`.
    public init(key: String, message: String) { self.key = key; self.message = message }
    /// `key: message`, the line the CLI prints.
    public var description: String { "\(key): \(message)" }
}

/// Collects problems under a key prefix; keeps the validation code short.
struct ProblemList {
    var problems: [SettingsProblem] = []

    mutating func add(_ key: String, _ message: String) {
        problems.append(SettingsProblem(key: key, message: message))
    }

    mutating func probability(_ value: Float, _ key: String) {
        if !(value >= 0 && value <= 1) { add(key, "must be between 0 and 1, got \(value)") }
    }

    mutating func probability(_ value: Double, _ key: String) {
        if !(value >= 0 && value <= 1) { add(key, "must be between 0 and 1, got \(value)") }
    }

    mutating func knownClass(_ name: String, _ classNames: [String], _ key: String) {
        if !classNames.contains(name) {
            add(key, "unknown class '\(name)' (the model's classes: \(classNames.joined(separator: ", ")))")
        }
    }
}
