/// A box the model proposed that survived decoding, NMS and the camera's ROI and box filters, not yet judged
/// against the class's threshold in force (that is the camera judge's job, because adaptive thresholds depend
/// on frame order).
public struct Candidate: Sendable, Codable, Equatable {
    /// Class id (index into the model's class names).
    public var classID: Int
    /// Confidence (class score, × objectness for YOLOv5).
    public var score: Float
    /// Box in source-frame pixels, clipped to the frame.
    public var box: Box
    /// Creates a candidate.
    public init(classID: Int, score: Float, box: Box) { self.classID = classID; self.score = score; self.box = box }
}
