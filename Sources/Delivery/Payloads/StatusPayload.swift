/// `{prefix}/status` (retained): `online` on connect, `offline` as Last Will and on clean shutdown
/// (schema `inspectd.status/1`).
public struct StatusPayload: Codable, Sendable, Equatable {
    /// `inspectd.status/1`.
    public var schema: String
    /// Unique per message.
    public var eventId: String
    /// When the message was made (UTC, ms); for the Last Will, when the connection was set up.
    public var timestamp: String
    /// Line id.
    public var line: String
    /// Station id.
    public var station: String
    /// `online` or `offline`.
    public var state: String
    /// The daemon's client id on the broker.
    public var clientId: String
}
