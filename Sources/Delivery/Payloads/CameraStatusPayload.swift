/// `{prefix}/{camera}/status` (retained): camera `up` or `down` (schema `inspectd.camera_status/1`).
public struct CameraStatusPayload: Codable, Sendable, Equatable {
    /// `inspectd.camera_status/1`.
    public var schema: String
    /// Unique per message.
    public var eventId: String
    /// When the camera changed state (UTC, ms).
    public var timestamp: String
    /// Line id.
    public var line: String
    /// Station id.
    public var station: String
    /// Camera id.
    public var camera: String
    /// `up` or `down`.
    public var state: String
    /// Why (for `down`: the error), may be empty.
    public var reason: String
}
