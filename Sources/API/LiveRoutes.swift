import Foundation
import Hummingbird
import NIOCore

/// The live side of the API: what a camera sees now (`/api/v1/cameras/{id}/frame.jpg`).
struct LiveRoutes: Sendable {
    let station: any StationAPI

    func add(to router: Router<BasicRequestContext>) {
        let station = self.station
        router.group("/api/v1").get("/cameras/{id}/frame.jpg") { request, context in
            let id = try context.parameters.require("id")
            let annotated: Bool
            switch request.uri.queryParameters["annotated"].map(String.init) {
            case nil, "0", "false": annotated = false
            case "1", "true": annotated = true
            case let other?:
                throw APIError(.badRequest, "bad_request", "annotated= is 1 or 0 (true or false), got '\(other)'")
            }
            let frame = try await station.frame(camera: id, annotated: annotated)
            var headers: HTTPFields = [.contentType: "image/jpeg", .cacheControl: "no-store"]
            headers[.init("X-Frame-Sequence")!] = "\(frame.sequence)"
            headers[.init("X-Frame-Captured-At")!] = ISO8601DateFormatter.string(
                from: frame.captureTime, timeZone: TimeZone(identifier: "UTC")!,
                formatOptions: [.withInternetDateTime, .withFractionalSeconds])
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: frame.jpeg)))
        }
    }
}
