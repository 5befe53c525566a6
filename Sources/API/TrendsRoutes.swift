import Foundation
import Hummingbird

/// `GET /api/v1/trends?window=1h|8h|24h[&camera=ID]`: the station's recent quality in buckets (1h: 12 of 5 min,
/// 8h: 16 of 30 min, 24h: 24 of 1 h), aggregated by the audit database, so the page draws a few dozen numbers
/// instead of fetching thousands of inspections.
struct TrendsRoutes: Sendable {
    let station: any StationAPI

    /// Bucket length and count per window.
    static let windows: [String: (seconds: Int, count: Int)] = ["1h": (300, 12), "8h": (1800, 16), "24h": (3600, 24)]

    func add(to router: Router<BasicRequestContext>) {
        let station = self.station
        router.group("/api/v1").get("/trends") { request, _ in
            let window = request.uri.queryParameters["window"].map(String.init) ?? "1h"
            guard let shape = Self.windows[window] else {
                throw APIError(.badRequest, "bad_request", "window= is 1h, 8h or 24h, got '\(window.prefix(40))'")
            }
            let camera = request.uri.queryParameters["camera"].map(String.init)
            if let camera, camera.isEmpty { throw APIError(.badRequest, "bad_request", "camera= is empty; leave it out for all cameras") }
            // The window ends at the end of the bucket now is in, so buckets stay put between refreshes.
            let now = Int(Date().timeIntervalSince1970)
            let until = (now / shape.seconds + 1) * shape.seconds
            let since = Date(timeIntervalSince1970: TimeInterval(until - shape.seconds * shape.count))
            let buckets = try station.trends(since: since, bucketSeconds: shape.seconds, buckets: shape.count, camera: camera)
            return try Routes.json(TrendsDocument(
                window: window, bucketSeconds: shape.seconds, since: Self.rfc3339(since),
                until: Self.rfc3339(Date(timeIntervalSince1970: TimeInterval(until))), camera: camera, buckets: buckets))
        }
    }

    static func rfc3339(_ date: Date) -> String {
        ISO8601DateFormatter.string(from: date, timeZone: TimeZone(identifier: "UTC")!,
                                    formatOptions: [.withInternetDateTime, .withFractionalSeconds])
    }
}
