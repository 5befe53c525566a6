import Foundation
import GRDB

extension AuditQueries {
    /// One time bucket of `trends`.
    public struct TrendBucket: Sendable, Equatable {
        /// Start of the bucket (inclusive; the next bucket's start is its end).
        public var start: Date
        /// Inspections captured in it (OK, NG and ERROR).
        public var inspections: Int
        /// Of these, judged NG.
        public var ngFrames: Int
        /// Defects per class name.
        public var defects: [String: Int]
    }

    /// Inspections, NG frames and defects per class in `count` buckets of `bucketSeconds` starting at `since`
    /// (a whole second), optionally of one camera. Counted in SQL over the `captured_at` index: whole seconds
    /// since `since`, divided as integers, so a frame on a bucket boundary lands in the later bucket exactly as
    /// `captured_at >= start AND captured_at < end` would put it.
    public func trends(since: Date, bucketSeconds: Int, count: Int, camera: String?) throws -> [TrendBucket] {
        let origin = Int64(since.timeIntervalSince1970.rounded(.down))
        let until = Date(timeIntervalSince1970: TimeInterval(origin + Int64(bucketSeconds * count)))
        let start = Date(timeIntervalSince1970: TimeInterval(origin))
        var buckets = (0..<count).map {
            TrendBucket(start: start.addingTimeInterval(TimeInterval($0 * bucketSeconds)), inspections: 0, ngFrames: 0, defects: [:])
        }
        try reader.read { db in
            let bucket = "(CAST(strftime('%s', i.captured_at) AS INTEGER) - ?) / ?"
            let cameraCondition = camera == nil ? "" : " AND i.camera = ?"
            var arguments: StatementArguments = [origin, bucketSeconds, start, until]
            if let camera { arguments += [camera] }
            for row in try Row.fetchAll(db, sql: """
                SELECT \(bucket) AS b, count(*), coalesce(sum(i.verdict = 'NG'), 0) FROM inspections i
                WHERE i.captured_at >= ? AND i.captured_at < ?\(cameraCondition) GROUP BY b
                """, arguments: arguments) {
                let b: Int = row[0]
                guard buckets.indices.contains(b) else { continue }
                buckets[b].inspections = row[1]; buckets[b].ngFrames = row[2]
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT \(bucket) AS b, d.class_name, count(*) FROM defects d JOIN inspections i ON i.id = d.inspection_id
                WHERE i.captured_at >= ? AND i.captured_at < ?\(cameraCondition) GROUP BY b, d.class_name
                """, arguments: arguments) {
                let b: Int = row[0]
                guard buckets.indices.contains(b) else { continue }
                buckets[b].defects[row[1]] = row[2]
            }
        }
        return buckets
    }
}
