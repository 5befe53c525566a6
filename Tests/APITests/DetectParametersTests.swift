import API
import Hummingbird
import HummingbirdCore
import XCTest

/// `DetectParameters.parse`, the header and query checks of `POST /api/v1/detect` (also run by Fuzz/FuzzHTTP).
final class DetectParametersTests: XCTestCase {
    private func parse(_ type: String?, length: String? = nil, query: String = "") throws(APIError) -> DetectParameters {
        var headers = HTTPFields()
        if let type { headers[.contentType] = type }
        if let length { headers[.contentLength] = length }
        return try DetectParameters.parse(headers: headers, uri: URI("/api/v1/detect" + query), maxBody: 1000)
    }

    private func refusal(_ type: String?, length: String? = nil, query: String = "") -> APIError? {
        do { _ = try parse(type, length: length, query: query); return nil } catch { return error }
    }

    func testMediaTypeLengthAndCamera() throws {
        XCTAssertEqual(try parse("image/jpeg"), DetectParameters(mediaType: "image/jpeg", camera: nil))
        XCTAssertEqual(try parse("Image/PNG; charset=binary", length: "1000", query: "?camera=cam%201"),
                       DetectParameters(mediaType: "image/png", camera: "cam 1"))
        XCTAssertEqual(refusal(nil)?.status, .unsupportedMediaType)
        XCTAssertEqual(refusal("text/plain")?.error, "unsupported_media_type")
        XCTAssertEqual(refusal("image/jpeg", length: "1001")?.status, .contentTooLarge)
        XCTAssertEqual(refusal("image/jpeg", query: "?camera=")?.status, .badRequest)
    }

    /// A Content-Type of parameters only (";", "; x=1") trapped in the route (index 0 of an empty split) and took
    /// the daemon down with it; it is a 415 naming what was sent.
    func testContentTypeWithoutMediaTypeIsRefusedNotATrap() {
        for type in [";", ";;", "; charset=binary", " ;"] {
            let error = refusal(type)
            XCTAssertEqual(error?.status, .unsupportedMediaType, "Content-Type '\(type)'")
        }
    }
}
