/// `GET /api/v1/inspections/{id}` and each item of `GET /api/v1/inspections`: one recorded inspection with its
/// defects, the thresholds they were judged by and links to its evidence JPEGs. Field names as in the MQTT
/// defects payload.
public struct InspectionDocument: Codable, Sendable, Equatable {
    /// One defect: class, confidence, the threshold in force when it was judged and its box.
    public struct Defect: Codable, Sendable, Equatable {
        public var classID: Int
        public var className: String
        public var confidence: Double
        /// The threshold in force for the class when the frame was judged.
        public var threshold: Double
        /// [x1, y1, x2, y2] in the frame's pixels.
        public var box: [Double]
        enum CodingKeys: String, CodingKey { case classID = "class_id", className = "class", confidence, threshold, box }
        /// Plain memberwise initializer.
        public init(classID: Int, className: String, confidence: Double, threshold: Double, box: [Double]) {
            self.classID = classID; self.className = className; self.confidence = confidence
            self.threshold = threshold; self.box = box
        }
    }

    /// The audit id (`inspections.id`; also the SSE id of its event).
    public var id: Int64
    public var camera: String
    /// The frame's sequence number.
    public var sequence: Int64
    /// Capture time, UTC ISO-8601 with milliseconds.
    public var capturedAt: String
    /// `OK`, `NG` or `ERROR`.
    public var verdict: String
    public var defectCount: Int
    /// Capture → verdict.
    public var latencyMs: Double
    public var modelSha256: String
    public var configRevision: String
    /// Why an `ERROR` frame was not judged (absent otherwise).
    public var error: String?
    public var defects: [Defect]
    /// Threshold in force per class, sorted by class, as recorded with the defects (the database keeps the
    /// threshold of a class only when the frame had a defect of it).
    public var thresholds: [CameraDocument.Threshold]
    /// `/api/v1/inspections/{id}/snapshot.jpg` when a snapshot was saved (absent otherwise).
    public var snapshot: String?
    /// `/api/v1/inspections/{id}/snapshot.jpg?annotated=1` when an annotated copy was saved.
    public var annotatedSnapshot: String?
    /// The part a trigger named (triggered inspections only): its id, lot, order, recipe, the client's trigger id
    /// and where the trigger came from (`http`, `mqtt`, `modbus`).
    public var partId: String? = nil
    public var lot: String? = nil
    public var order: String? = nil
    public var recipe: String? = nil
    public var triggerId: String? = nil
    public var triggerSource: String? = nil

    /// Plain memberwise initializer; `thresholds` and the links are derived.
    public init(id: Int64, camera: String, sequence: Int64, capturedAt: String, verdict: String, defectCount: Int,
                latencyMs: Double, modelSha256: String, configRevision: String, error: String?, defects: [Defect],
                hasSnapshot: Bool, hasAnnotated: Bool) {
        self.id = id; self.camera = camera; self.sequence = sequence; self.capturedAt = capturedAt
        self.verdict = verdict; self.defectCount = defectCount; self.latencyMs = latencyMs
        self.modelSha256 = modelSha256; self.configRevision = configRevision; self.error = error
        self.defects = defects
        thresholds = Dictionary(defects.map { ($0.className, $0.threshold) }, uniquingKeysWith: { a, _ in a })
            .map { CameraDocument.Threshold(className: $0.key, threshold: $0.value) }.sorted { $0.className < $1.className }
        snapshot = hasSnapshot ? "/api/v1/inspections/\(id)/snapshot.jpg" : nil
        annotatedSnapshot = hasAnnotated ? "/api/v1/inspections/\(id)/snapshot.jpg?annotated=1" : nil
    }
}
