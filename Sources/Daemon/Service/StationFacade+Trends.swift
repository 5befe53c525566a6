import API
import Delivery
import Foundation

/// `GET /api/v1/trends` and `GET /api/v1/cameras/{id}/thresholds` from the audit database.
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

    public func thresholdHistory(camera: String, since: Date, bucketSeconds: Int) throws -> [ThresholdHistoryDocument.Series] {
        if let config = currentConfig, !config.cameras.contains(where: { $0.id == camera }) {
            throw APIError(.notFound, "unknown_camera", "no camera '\(camera)'; cameras: "
                           + (config.cameras.isEmpty ? "none" : config.cameras.map(\.id).joined(separator: ", ")))
        }
        let points = try readAuditForEvents { try $0.thresholdHistory(camera: camera, since: since, bucketSeconds: bucketSeconds) }
        var series: [ThresholdHistoryDocument.Series] = []
        for p in points {
            let point = ThresholdHistoryDocument.Point(at: Timestamp.string(p.start), threshold: p.threshold)
            if series.last?.className == p.className { series[series.count - 1].points.append(point) } else {
                series.append(.init(className: p.className, points: [point]))
            }
        }
        return series
    }
}
