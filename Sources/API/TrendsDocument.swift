import Foundation

/// `GET /api/v1/trends`: inspections, NG frames, NG rate and defects per class in equal time buckets over a
/// window ending at the current bucket's end, counted from the audit database.
public struct TrendsDocument: Codable, Sendable, Equatable {
    /// One bucket.
    public struct Bucket: Codable, Sendable, Equatable {
        /// Start (RFC 3339 UTC, inclusive); it ends where the next starts.
        public var start: String
        /// Inspections captured in it.
        public var inspections: Int
        /// Of these, judged NG.
        public var ngFrames: Int
        /// NG / inspections (0 when none).
        public var ngRate: Double
        /// Defects per class, most first (classes without defects left out).
        public var defects: [ClassCount]
        /// Plain memberwise initializer.
        public init(start: String, inspections: Int, ngFrames: Int, ngRate: Double, defects: [ClassCount]) {
            self.start = start; self.inspections = inspections; self.ngFrames = ngFrames; self.ngRate = ngRate
            self.defects = defects
        }
    }

    /// A class and its defect count.
    public struct ClassCount: Codable, Sendable, Equatable {
        /// Class name.
        public var className: String
        /// Defects.
        public var count: Int
        enum CodingKeys: String, CodingKey { case className = "class", count }
        /// Plain memberwise initializer.
        public init(className: String, count: Int) { self.className = className; self.count = count }
    }

    /// `1h`, `8h` or `24h`.
    public var window: String
    /// Length of each bucket.
    public var bucketSeconds: Int
    /// Start of the first bucket (RFC 3339 UTC).
    public var since: String
    /// End of the last bucket.
    public var until: String
    /// The camera counted; absent: all cameras.
    public var camera: String?
    /// The buckets, oldest first.
    public var buckets: [Bucket]
}
