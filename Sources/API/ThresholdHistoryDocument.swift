/// `GET /api/v1/cameras/{id}/thresholds`: the recent values of a camera's adaptive class thresholds, per class
/// the value each time bucket ended with (buckets without a change are left out: the threshold held).
public struct ThresholdHistoryDocument: Codable, Sendable, Equatable {
    /// One class's recent values, oldest first.
    public struct Series: Codable, Sendable, Equatable {
        /// Class name.
        public var className: String
        public var points: [Point]
        enum CodingKeys: String, CodingKey { case className = "class", points }
        /// Plain memberwise initializer.
        public init(className: String, points: [Point]) { self.className = className; self.points = points }
    }

    /// The threshold a class ended a bucket with.
    public struct Point: Codable, Sendable, Equatable {
        /// Start of the bucket (RFC 3339, UTC).
        public var at: String
        public var threshold: Double
        /// Plain memberwise initializer.
        public init(at: String, threshold: Double) { self.at = at; self.threshold = threshold }
    }

    public var camera: String
    /// `1h`, `8h` or `24h`.
    public var window: String
    public var bucketSeconds: Int
    /// The window (RFC 3339, UTC).
    public var since: String
    public var until: String
    /// Classes that changed in the window, by name.
    public var classes: [Series]
}
