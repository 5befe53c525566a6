import Hummingbird
import HummingbirdCore

/// What `POST /api/v1/detect` reads from a request before its body: the image's media type, the announced
/// length and the `camera=` and `record=` query parameters. Parsed outside the route so the HTTP fuzz harness
/// (Fuzz/FuzzHTTP) runs the same code the server does.
public struct DetectParameters: Sendable, Equatable {
    /// `image/jpeg`, `image/png` or `multipart/form-data` (lowercased, parameters dropped).
    public var mediaType: String
    /// The camera whose settings judge the image; nil = the `detection` section's.
    public var camera: String?
    /// `record=true`: judge, record and publish the image as the camera's next frame.
    public var record: Bool

    /// Plain memberwise initializer.
    public init(mediaType: String, camera: String?, record: Bool = false) {
        self.mediaType = mediaType; self.camera = camera; self.record = record
    }

    /// Reads `headers` and `uri`; throws the API's answer for a missing or unsupported Content-Type (415), a
    /// Content-Length over `maxBody` (413), an empty `camera=`, a `record=` other than true/false/1/0 or
    /// `record=true` without `camera=` (400).
    public static func parse(headers: HTTPFields, uri: URI, maxBody: Int) throws(APIError) -> DetectParameters {
        // "image/jpeg; q=1" → "image/jpeg"; a value of only parameters (";x") has no media type.
        let type = headers[.contentType].map {
            ($0.split(separator: ";", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        guard type == "image/jpeg" || type == "image/png" || type == "multipart/form-data" else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "send the image itself as the body, with Content-Type image/jpeg or image/png, "
                           + "or as the part 'image' of a multipart/form-data body"
                           + (headers[.contentType] == nil ? " (no Content-Type given)" : " (got '\(type)')"))
        }
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > maxBody {
            throw APIError(.contentTooLarge, "payload_too_large", "the image is \(length) bytes; http.max_body allows \(maxBody)")
        }
        var camera: String?
        if let value = uri.queryParameters["camera"] {
            guard !value.isEmpty else { throw APIError(.badRequest, "bad_request", "camera= names a camera id; it is empty") }
            camera = String(value)
        }
        var record = false
        switch uri.queryParameters["record"].map(String.init) {
        case nil, "false", "0": break
        case "true", "1": record = true
        case let other?: throw APIError(.badRequest, "bad_request", "record= is true or false (1 or 0), got '\(other)'")
        }
        if record && camera == nil {
            throw APIError(.badRequest, "bad_request",
                           "record=true judges the image as a frame of a camera: name the camera with camera=")
        }
        return DetectParameters(mediaType: type, camera: camera, record: record)
    }
}
