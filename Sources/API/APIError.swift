import Foundation
import Hummingbird

/// An API error answer: an HTTP status with the JSON body `{"error": code, "detail": sentence}` that every
/// failing request gets, whatever failed (`JSONErrorMiddleware` turns other errors into one).
public struct APIError: Error, HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A short stable code for programs (`not_found`, `payload_too_large`, ...).
    public var error: String
    /// A sentence for people, naming the problem.
    public var detail: String
    /// Extra headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields

    /// An error answer with `status`, a code and a detail.
    public init(_ status: HTTPResponse.Status, _ error: String, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status; self.error = error; self.detail = detail; self.headers = headers
    }

    /// The JSON body.
    struct Body: Codable { var error: String; var detail: String }

    /// The answer (`HTTPResponseError`).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    /// The answer, without a request.
    func response() -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let data = (try? JSONEncoder().encode(Body(error: error, detail: detail))) ?? Data("{}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The code for a status that was not raised as an `APIError` (Hummingbird's own errors).
    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 413: "payload_too_large"
        case 415: "unsupported_media_type"
        case 422: "unprocessable_image"
        case 429: "too_many_requests"
        case 503: "unavailable"
        default: status.code >= 500 ? "internal" : "http_\(status.code)"
        }
    }
}
