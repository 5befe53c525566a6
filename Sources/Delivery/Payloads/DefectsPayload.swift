/// `{prefix}/{camera}/defects`: one message per NG frame (schema `inspectd.defects/1`,
/// Configs/schemas/inspectd.defects.v1.schema.json).
public struct DefectsPayload: Codable, Sendable, Equatable {
    /// One defect: class, confidence, threshold in force and box `[x1, y1, x2, y2]` in source pixels.
    public struct Defect: Codable, Sendable, Equatable {
        /// Model class index.
        public var classId: Int
        /// Class name.
        public var `class`: String
        /// Detector confidence.
        public var confidence: Double
        /// Threshold in force.
        public var threshold: Double
        /// `[x1, y1, x2, y2]`, source-frame pixels.
        public var box: [Double]
    }
    /// The model that judged the frame.
    public struct Model: Codable, Sendable, Equatable {
        /// Model name.
        public var name: String
        /// SHA-256 of the model file (hex).
        public var sha256: String
    }
    /// `inspectd.defects/1`.
    public var schema: String
    /// Unique per message; subscribers de-duplicate by it.
    public var eventId: String
    /// When the message was made (UTC, ms).
    public var timestamp: String
    /// When the frame was captured (UTC, ms).
    public var capturedAt: String
    /// Line id.
    public var line: String
    /// Station id.
    public var station: String
    /// Camera id.
    public var camera: String
    /// Frame sequence number.
    public var sequence: UInt64
    /// `NG`, `ERROR` (the frame could not be judged; always published), or `OK` when publishing OK frames is
    /// enabled.
    public var verdict: String
    /// Why an `ERROR` frame was not judged (absent otherwise).
    public var error: String?
    /// The part, for a triggered inspection (absent for free-running frames): its id, lot, production order,
    /// recipe, the client's trigger id and where the trigger came from (`http`, `mqtt`, `modbus`). The
    /// trigger's `meta` object is carried as `meta`, as sent.
    public var partId: String?
    public var lot: String?
    public var order: String?
    public var recipe: String?
    public var triggerId: String?
    public var triggerSource: String?
    /// The model.
    public var model: Model
    /// Config revision in force.
    public var configRevision: String
    /// Capture → verdict latency.
    public var latencyMs: Double
    /// The defects.
    public var defects: [Defect]
    /// Evidence JPEG path on the edge box, if saved.
    public var snapshot: String?
    /// Annotated copy path, if saved.
    public var annotatedSnapshot: String?
}
