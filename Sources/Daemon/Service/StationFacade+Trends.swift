import API
import Delivery
import Foundation

/// `GET /api/v1/trends` from the audit database.
extension StationFacade {
    public func trends(since: Date, bucketSeconds: Int, buckets: Int, camera: String?) throws -> [TrendsDocument.Bucket] {
        try readAuditForEvents { try $0.trends(since: since, bucketSeconds: bucketSeconds, count: buckets, camera: camera) }
            .map { b in
                TrendsDocument.Bucket(
                    start: Timestamp.string(b.start), inspections: b.inspections, ngFrames: b.ngFrames,
                    ngRate: b.inspections == 0 ? 0 : Double(b.ngFrames) / Double(b.inspections),
                    defects: b.defects.map { TrendsDocument.ClassCount(className: $0.key, count: $0.value) }
                        .sorted { ($0.count, $1.className) > ($1.count, $0.className) })
            }
    }
}
