/// One defect of an inspection: class, confidence, the threshold in force and the box in source-frame pixels.
public struct DefectRecord: Sendable, Equatable, Codable {
    /// Model class index.
    public var classID: Int
    /// Class name from the model metadata.
    public var className: String
    /// Detector confidence.
    public var confidence: Double
    /// Threshold in force for this class when the frame was judged.
    public var threshold: Double
    /// Box corners in source-frame pixels.
    public var x1: Double, y1: Double, x2: Double, y2: Double

    /// Creates a defect record.
    public init(classID: Int, className: String, confidence: Double, threshold: Double,
                x1: Double, y1: Double, x2: Double, y2: Double) {
        self.classID = classID; self.className = className; self.confidence = confidence
        self.threshold = threshold; self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2
    }
}
