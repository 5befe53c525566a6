import Foundation
import Hummingbird
import NIOCore

/// The endpoints, each a thin call into `StationAPI` and a JSON (or text) answer.
struct Routes: Sendable {
    let station: any StationAPI
    let settings: APIServer.Settings

    /// snake_case field names, as the MQTT payloads; sorted keys so answers are stable.
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    func add(to router: Router<BasicRequestContext>) {
        let station = self.station
        for method in [HTTPRequest.Method.get, .head] {
            router.on("/metrics", method: method) { _, _ in
                Self.text(station.metricsExposition(), type: "text/plain; version=0.0.4; charset=utf-8")
            }
            router.on("/healthz", method: method) { _, _ in
                let (healthy, json) = station.healthz()
                return Response(status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: json + Data("\n".utf8))))
            }
        }
        StationPage.add(to: router)
        let v1 = router.group("/api/v1")
        v1.get("/openapi.json") { _, _ in Self.text(OpenAPIDocument.json + "\n", type: "application/json") }
        v1.get("/status") { _, _ in try Self.json(station.status()) }
        v1.get("/cameras") { _, _ in try Self.json(station.cameras()) }
        v1.get("/cameras/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let camera = station.cameras().first(where: { $0.id == id }) else {
                throw APIError(.notFound, "unknown_camera", "no camera '\(id)'; cameras: "
                               + station.cameras().map(\.id).joined(separator: ", "))
            }
            return try Self.json(camera)
        }
        let maxBody = settings.maxBody
        v1.post("/detect") { request, _ in
            let parsed = try DetectParameters.parse(headers: request.headers, uri: request.uri, maxBody: maxBody)
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxBody) } catch is NIOTooManyBytesError {
                throw APIError(.contentTooLarge, "payload_too_large", "the image is larger than http.max_body (\(maxBody) bytes)")
            }
            let image = parsed.mediaType == "multipart/form-data"
                ? try MultipartImage.extract(body, contentType: request.headers[.contentType] ?? "")
                : Data(body.readableBytesView)
            return try Self.json(try await station.detect(image: image, camera: parsed.camera, record: parsed.record))
        }
        v1.post("/cameras/{id}/trigger") { request, context in
            let id = try context.parameters.require("id")
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: Self.maxTriggerBody) } catch is NIOTooManyBytesError {
                throw APIError(.contentTooLarge, "payload_too_large", "a trigger document is at most \(Self.maxTriggerBody) bytes")
            }
            return try Self.json(try await station.trigger(camera: id, body: Data(body.readableBytesView)))
        }
    }

    /// Trigger documents are small (the parser refuses more than 8 KB itself; this bounds what is read).
    static let maxTriggerBody = 16 << 10

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ body: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
