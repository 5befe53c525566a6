import Foundation
import GRDB

extension AuditQueries {
    /// One point of `thresholdHistory`: the threshold a class ended a time bucket with.
    public struct ThresholdPoint: Sendable, Equatable {
        /// Class name, as the `threshold_change` event recorded it.
        public var className: String
        /// Start of the bucket.
        public var start: Date
        /// The class's threshold after the bucket's last change.
        public var threshold: Double
    }

    /// The recent values of camera `camera`'s adaptive thresholds, from its `threshold_change` service events
    /// from `since` on: per class and bucket of `bucketSeconds`, the value after the bucket's last change (a
    /// class adapts up to once a frame, so an hour may hold ~100 000 changes; the page draws a few dozen points).
    /// Buckets without a change are left out (the threshold held). Grouped in SQL over the `(kind, at)` index;
    /// SQLite takes the bare column `detail` from the row `max(id)` picked.
    public func thresholdHistory(camera: String, since: Date, bucketSeconds: Int) throws -> [ThresholdPoint] {
        let origin = Int64(since.timeIntervalSince1970.rounded(.down))
        return try reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT json_extract(detail, '$.className') AS c,
                       (CAST(strftime('%s', at) AS INTEGER) - ?) / ? AS b, max(id), json_extract(detail, '$.to')
                FROM service_events
                WHERE kind = 'threshold_change' AND at >= ? AND camera = ? AND json_valid(detail)
                GROUP BY c, b ORDER BY c, b
                """, arguments: [origin, bucketSeconds, Date(timeIntervalSince1970: TimeInterval(origin)), camera])
                .compactMap { row -> ThresholdPoint? in
                    guard let name: String = row[0], let b: Int64 = row[1], let value: Double = row[3] else { return nil }
                    return ThresholdPoint(className: name,
                                          start: Date(timeIntervalSince1970: TimeInterval(origin + b * Int64(bucketSeconds))),
                                          threshold: value)
                }
        }
    }
}
