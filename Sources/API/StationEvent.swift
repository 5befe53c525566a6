import Foundation

/// One event of the live feed (`GET /api/v1/events`), as the station made it from the audit database.
public struct StationEvent: Sendable, Equatable {
    /// The feed's position once this event is delivered (its SSE `id:`).
    public var cursor: EventCursor
    /// The SSE `event:` name: `inspection`, `ok`, `alarm`, `camera_status`, `threshold_change`,
    /// `config_reload` or `service`.
    public var type: String
    /// The JSON object sent as `data:` (one line: JSON escapes line breaks inside strings).
    public var data: Data

    /// Plain memberwise initializer.
    public init(cursor: EventCursor, type: String, data: Data) { self.cursor = cursor; self.type = type; self.data = data }
}
