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
            // A name for whoever saves it (curl -OJ, the page's download): camera, capture time, sequence.
            headers[.contentDisposition] = "inline; filename=\"\(Self.fileName(camera: id, frame: frame, annotated: annotated))\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: frame.jpeg)))
        }
    }

    /// `cam1-20261205T002707.123Z-4711.jpg` (`-annotated` before `.jpg` for the annotated copy); characters of the
    /// camera id a file name or the header cannot hold become `_`.
    static func fileName(camera: String, frame: FrameImage, annotated: Bool) -> String {
        let time = ISO8601DateFormatter.string(from: frame.captureTime, timeZone: TimeZone(identifier: "UTC")!,
                                               formatOptions: [.withInternetDateTime, .withFractionalSeconds])
            .replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let safe = String(camera.unicodeScalars.map { s -> Character in
            s.isASCII && (CharacterSet.alphanumerics.contains(s) || s == "-" || s == "_" || s == ".") ? Character(s) : "_"
        })
        return "\(safe)-\(time)-\(frame.sequence)\(annotated ? "-annotated" : "").jpg"
    }
}
