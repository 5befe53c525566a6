import Foundation
import MultipartKit
import NIOCore

/// The image of a `multipart/form-data` body (`POST /api/v1/detect` from an HTML form or `curl -F`): the
/// bytes of its part named `image`. Parsed by MultipartKit; anything missing is named in a 400.
enum MultipartImage {
    /// The `image` part of `body`, whose `Content-Type` header is `contentType` (with its `boundary`).
    static func extract(_ body: ByteBuffer, contentType: String) throws -> Data {
        guard let boundary = parameter("boundary", of: contentType), !boundary.isEmpty else {
            throw APIError(.badRequest, "bad_request", "a multipart/form-data body needs a boundary in its Content-Type")
        }
        let parser = MultipartParser(boundary: boundary)
        var parts: [(name: String?, body: ByteBuffer)] = []
        var name: String?
        var current = ByteBuffer()
        parser.onHeader = { field, value in
            if field.lowercased() == "content-disposition" { name = parameter("name", of: value) }
        }
        parser.onBody = { chunk in current.writeBuffer(&chunk) }
        parser.onPartComplete = {
            parts.append((name, current))
            name = nil
            current = ByteBuffer()
        }
        do { try parser.execute(body) } catch {
            throw APIError(.badRequest, "bad_request", "the multipart/form-data body cannot be read: \(error)")
        }
        guard let image = parts.first(where: { $0.name == "image" }) else {
            let names = parts.map { $0.name.map { "'\($0)'" } ?? "(unnamed)" }
            throw APIError(.badRequest, "bad_request", "the multipart/form-data body has no part named 'image'"
                           + (names.isEmpty ? " (no parts at all)" : "; its parts: " + names.joined(separator: ", ")))
        }
        return Data(image.body.readableBytesView)
    }

    /// The value of parameter `key` in a header value such as `form-data; name="image"; filename="a.jpg"`.
    static func parameter(_ key: String, of header: String) -> String? {
        for item in header.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}
