/// One item of `GET /api/v1/defects?format=json`: a defect with its inspection (the columns of the CSV form,
/// plus the inspection's id and snapshot link).
public struct DefectDocument: Codable, Sendable, Equatable {
    /// The inspection's audit id.
    public var inspectionId: Int64
    /// Capture time, UTC ISO-8601 with milliseconds.
    public var capturedAt: String
    public var camera: String
    public var sequence: Int64
    public var className: String
    public var confidence: Double
    /// The threshold in force for the class when the frame was judged.
    public var threshold: Double
    /// [x1, y1, x2, y2] in the frame's pixels.
    public var box: [Double]
    /// `/api/v1/inspections/{id}/snapshot.jpg` when a snapshot was saved (absent otherwise).
    public var snapshot: String?
    /// The part a trigger named (triggered inspections only).
    public var partId: String? = nil
    enum CodingKeys: String, CodingKey {
        case inspectionId, capturedAt, camera, sequence, className = "class", confidence, threshold, box, snapshot
    }

    /// Plain memberwise initializer; the snapshot link is derived.
    public init(inspectionId: Int64, capturedAt: String, camera: String, sequence: Int64, className: String,
                confidence: Double, threshold: Double, box: [Double], hasSnapshot: Bool) {
        self.inspectionId = inspectionId; self.capturedAt = capturedAt; self.camera = camera
        self.sequence = sequence; self.className = className; self.confidence = confidence
        self.threshold = threshold; self.box = box
        snapshot = hasSnapshot ? "/api/v1/inspections/\(inspectionId)/snapshot.jpg" : nil
    }
}
