/// `{prefix}/alarms`: a line rule fired or a class drifted to its threshold ceiling (schema `inspectd.alarm/1`).
public struct AlarmPayload: Codable, Sendable, Equatable {
    /// `inspectd.alarm/1`.
    public var schema: String
    /// Unique per message.
    public var eventId: String
    /// When the alarm fired (UTC, ms).
    public var timestamp: String
    /// Line id.
    public var line: String
    /// Station id.
    public var station: String
    /// Camera id, or `*` for a station-wide alarm (storage).
    public var camera: String
    /// Rule id from the config, or `drift:<class>`.
    public var ruleId: String
    /// `consecutive_class`, `ng_rate`, `threshold_drift`, `storage` or `storage_recovered`.
    public var kind: String
    /// One line for people.
    public var message: String
    /// Frame sequence numbers that made the rule fire.
    public var evidence: [UInt64]
}
