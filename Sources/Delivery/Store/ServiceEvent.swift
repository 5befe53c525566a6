import Foundation

/// A lifecycle event recorded in `service_events`.
public struct ServiceEvent: Sendable, Equatable, Codable {
    /// What happened.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case start, stop
        case configReload = "config_reload"
        case cameraDown = "camera_down", cameraUp = "camera_up"
        case thresholdChange = "threshold_change"
        case alarm, error
    }
    /// What happened.
    public var kind: Kind
    /// When (UTC).
    public var at: Date
    /// The camera concerned, if any.
    public var camera: String?
    /// Free text or JSON for people and tools (e.g. `{"class":"short","from":0.5,"to":0.62}`).
    public var detail: String

    /// Creates an event.
    public init(_ kind: Kind, at: Date = Date(), camera: String? = nil, detail: String = "") {
        self.kind = kind; self.at = at; self.camera = camera; self.detail = detail
    }
}
