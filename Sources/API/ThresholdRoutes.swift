import Foundation
import Hummingbird

/// `GET /api/v1/cameras/{id}/thresholds?window=1h|8h|24h`: how a camera's adaptive thresholds moved (1h: buckets
/// of 1 min, 8h: 5 min, 24h: 15 min), read from the `threshold_change` events of the audit database, so the
/// page charts them without fetching every change.
struct ThresholdRoutes: Sendable {
    let station: any StationAPI

    /// Bucket length per window.
    static let buckets: [String: Int] = ["1h": 60, "8h": 300, "24h": 900]
    static let windowSeconds: [String: Int] = ["1h": 3600, "8h": 8 * 3600, "24h": 24 * 3600]

    func add(to router: Router<BasicRequestContext>) {
        let station = self.station
        router.group("/api/v1").get("/cameras/{id}/thresholds") { request, context in
            let id = try context.parameters.require("id")
            let window = request.uri.queryParameters["window"].map(String.init) ?? "1h"
            guard let bucket = Self.buckets[window], let length = Self.windowSeconds[window] else {
                throw APIError(.badRequest, "bad_request", "window= is 1h, 8h or 24h, got '\(window.prefix(40))'")
            }
            // The window ends at the end of the bucket now is in, so points stay put between refreshes.
            let until = (Int(Date().timeIntervalSince1970) / bucket + 1) * bucket
            let since = Date(timeIntervalSince1970: TimeInterval(until - length))
            let classes = try station.thresholdHistory(camera: id, since: since, bucketSeconds: bucket)
            return try Routes.json(ThresholdHistoryDocument(
                camera: id, window: window, bucketSeconds: bucket, since: TrendsRoutes.rfc3339(since),
                until: TrendsRoutes.rfc3339(Date(timeIntervalSince1970: TimeInterval(until))), classes: classes))
        }
    }
}
