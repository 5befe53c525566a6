import Foundation

/// One trigger: inspect the part now under a camera. The same JSON arrives over HTTP
/// (`POST /api/v1/cameras/{id}/trigger`) and MQTT (`{prefix}/{camera}/trigger`); the Modbus handshake fills
/// only `partID`. Every field is bounded, so a trigger can go into topics, file names and the audit database.
public struct TriggerRequest: Sendable, Equatable {
    /// The part's id (required): 1–64 printable ASCII characters.
    public var partID: String
    /// Optional lot, production order and recipe (which golden reference to use): up to 64 printable characters.
    public var lot: String?
    public var order: String?
    public var recipe: String?
    /// Optional small JSON object carried into the record and the result as is (at most `maxMetaBytes` encoded).
    public var meta: Data?
    /// Optional client id of this trigger: a retried trigger with the same id gets the first one's result
    /// instead of a second inspection.
    public var triggerID: String?

    public static let maxFieldLength = 64
    public static let maxMetaBytes = 1024
    /// A trigger document larger than this is refused before it is parsed.
    public static let maxDocumentBytes = 8192

    /// Plain memberwise initializer (fields unchecked: see `validated()`).
    public init(partID: String, lot: String? = nil, order: String? = nil, recipe: String? = nil, meta: Data? = nil,
                triggerID: String? = nil) {
        self.partID = partID; self.lot = lot; self.order = order; self.recipe = recipe; self.meta = meta
        self.triggerID = triggerID
    }

    /// Why a trigger document was refused: `field` names the JSON key (or `body`).
    public struct Problem: Error, Equatable, CustomStringConvertible, Sendable {
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    /// Parses and checks a trigger document: a JSON object with `part_id` (required), `lot`, `order`,
    /// `recipe`, `meta` (an object) and `trigger_id`; unknown keys are refused (a typo must not pass silently).
    public static func parse(_ body: Data) throws(Problem) -> TriggerRequest {
        guard body.count <= maxDocumentBytes else {
            throw Problem(field: "body", message: "\(body.count) bytes; a trigger is at most \(maxDocumentBytes)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) else {
            throw Problem(field: "body", message: "not JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw Problem(field: "body", message: "a JSON object is expected, e.g. {\"part_id\": \"PCB-0001\"}")
        }
        let known: Set<String> = ["part_id", "lot", "order", "recipe", "meta", "trigger_id"]
        if let unknown = fields.keys.filter({ !known.contains($0) }).sorted().first {
            throw Problem(field: unknown, message: "unknown key; a trigger has \(known.sorted().joined(separator: ", "))")
        }
        func text(_ key: String) throws(Problem) -> String? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
            guard let string = value as? String else { throw Problem(field: key, message: "must be a string") }
            return string
        }
        guard let partID = try text("part_id") else { throw Problem(field: "part_id", message: "is required") }
        var meta: Data?
        if let value = fields["meta"], !(value is NSNull) {
            guard value is [String: Any], let encoded = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
            else { throw Problem(field: "meta", message: "must be a JSON object") }
            meta = encoded
        }
        return try TriggerRequest(partID: partID, lot: text("lot"), order: text("order"), recipe: text("recipe"),
                                  meta: meta, triggerID: text("trigger_id")).validated()
    }

    /// This request if every field is within its bounds; else the first problem.
    public func validated() throws(Problem) -> TriggerRequest {
        try Self.check("part_id", partID)
        for (key, value) in [("lot", lot), ("order", order), ("recipe", recipe), ("trigger_id", triggerID)] {
            if let value { try Self.check(key, value) }
        }
        if let meta, meta.count > Self.maxMetaBytes {
            throw Problem(field: "meta", message: "\(meta.count) bytes encoded; at most \(Self.maxMetaBytes)")
        }
        return self
    }

    private static func check(_ key: String, _ value: String) throws(Problem) {
        guard !value.isEmpty else { throw Problem(field: key, message: "is empty") }
        guard value.utf8.count <= maxFieldLength else {
            throw Problem(field: key, message: "\(value.utf8.count) bytes; at most \(maxFieldLength)")
        }
        guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw Problem(field: key, message: "only printable ASCII characters (no control characters, no UTF-8)")
        }
    }
}
