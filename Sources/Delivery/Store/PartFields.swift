import Foundation

/// Which physical part an inspection was of, as its trigger named it (free-running frames have none). Stored
/// on the inspection in the audit database and carried, additively, in its MQTT defects and result payloads.
public struct PartFields: Sendable, Equatable, Codable {
    /// The part's id (1–64 printable ASCII characters, checked by the trigger parser).
    public var partID: String
    /// Lot, production order and recipe, when the trigger gave them.
    public var lot: String?
    public var order: String?
    public var recipe: String?
    /// The trigger's `meta` object, as compact JSON text (at most 1 KB).
    public var meta: String?
    /// The client's id of the trigger (idempotent retries), when given.
    public var triggerID: String?
    /// Where the trigger came from: `http`, `mqtt` or `modbus`.
    public var source: String
    /// An MQTT v5 trigger's response topic and correlation data: its result is also published there, with them
    /// (not stored on the inspection).
    public var replyTopic: String? = nil
    public var correlationData: Data? = nil

    /// Plain memberwise initializer.
    public init(partID: String, lot: String? = nil, order: String? = nil, recipe: String? = nil, meta: String? = nil,
                triggerID: String? = nil, source: String) {
        self.partID = partID; self.lot = lot; self.order = order; self.recipe = recipe; self.meta = meta
        self.triggerID = triggerID; self.source = source
    }
}
