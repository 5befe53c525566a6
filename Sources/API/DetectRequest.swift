import Hummingbird
import HummingbirdCore

/// What `POST /api/v1/detect` reads from a request before its body: the image's media type, the announced
/// length and the optional `camera=` query parameter. Parsed outside the route so the HTTP fuzz harness
/// (Fuzz/FuzzHTTP) runs the same code the server does.
public struct DetectRequest: Sendable, Equatable {
    /// `image/jpeg` or `image/png` (lowercased, parameters dropped).
    public var mediaType: String
    /// The camera whose settings judge the image; nil = the default camera.
    public var camera: String?

    /// Plain memberwise initializer.
    public init(mediaType: String, camera: String?) { self.mediaType = mediaType; self.camera = camera }

    /// Reads `headers` and `uri`; throws the API's answer for a missing or unsupported Content-Type (415), a
    /// Content-Length over `maxBody` (413) or an empty `camera=` (400).
    public static func parse(headers: HTTPFields, uri: URI, maxBody: Int) throws(APIError) -> DetectRequest {
        // "image/jpeg; q=1" → "image/jpeg"; a value of only parameters (";x") has no media type.
        let type = headers[.contentType].map {
            ($0.split(separator: ";", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        guard type == "image/jpeg" || type == "image/png" else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "send the image itself as the body, with Content-Type image/jpeg or image/png"
                           + (type.isEmpty ? " (no Content-Type given)" : " (got \(type))"))
        }
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > maxBody {
            throw APIError(.contentTooLarge, "payload_too_large", "the image is \(length) bytes; http.max_body allows \(maxBody)")
        }
        var camera: String?
        if let value = uri.queryParameters["camera"] {
            guard !value.isEmpty else { throw APIError(.badRequest, "bad_request", "camera= names a camera id; it is empty") }
            camera = String(value)
        }
        return DetectRequest(mediaType: type, camera: camera)
    }
}
