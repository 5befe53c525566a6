/// A position in the live event feed (`GET /api/v1/events`): the last `inspections.id` and the last
/// `service_events.id` a client has been sent. The two tables number their rows separately, so one resumable
/// position needs both. Clients see it as the SSE `id:` (`<inspection>-<event>`, e.g. `1520-37`), give it
/// back as `Last-Event-ID` and should treat it as opaque.
public struct EventCursor: Sendable, Equatable {
    /// Last inspection sent (`inspections.id`; 0: none).
    public var inspection: Int64
    /// Last service event sent (`service_events.id`; 0: none).
    public var event: Int64

    /// Plain memberwise initializer.
    public init(inspection: Int64, event: Int64) { self.inspection = inspection; self.event = event }

    /// The SSE `id:` spelling.
    public var token: String { "\(inspection)-\(event)" }

    /// Reads a ``token``; nil when it is not one (two non-negative integers joined by `-`).
    public init?(token: String) {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard token.count <= 41, parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
              let i = Int64(parts[0]), let e = Int64(parts[1]), i >= 0, e >= 0 else { return nil }
        self.init(inspection: i, event: e)
    }
}
