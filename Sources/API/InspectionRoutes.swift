import Foundation
import Hummingbird
import NIOCore

/// The read side of the audit database: `/api/v1/inspections`, `/api/v1/inspections/{id}`, its
/// `snapshot.jpg` and `/api/v1/defects` (JSON pages or streamed CSV). Each a thin call into `StationAPI`.
struct InspectionRoutes: Sendable {
    let station: any StationAPI

    /// Largest JSON page; CSV streams up to `csvLimit` rows, read `csvPage` at a time (each page one short read
    /// transaction, so a long download never holds back the daemon's WAL checkpoints).
    static let jsonLimits = 1...1000, jsonDefault = 100
    static let csvLimit = 1_000_000, csvPage = 1000

    func add(to router: Router<BasicRequestContext>) {
        let station = self.station
        let v1 = router.group("/api/v1")
        v1.get("/inspections") { request, _ in
            let query = try RecordQuery(Self.parameters(request), limits: Self.jsonLimits, defaultLimit: Self.jsonDefault)
            return try Routes.json(station.inspections(query))
        }
        v1.get("/inspections/{id}") { _, context in
            try Routes.json(station.inspection(id: Self.id(context)))
        }
        v1.get("/inspections/{id}/snapshot.jpg") { request, context in
            let id = try Self.id(context)
            var annotated = false
            for (key, value) in request.uri.queryParameters {
                guard key == "annotated" else {
                    throw RecordQuery.bad(String(key), "unknown parameter; this path takes annotated")
                }
                switch value.lowercased() {
                case "1", "true": annotated = true
                case "0", "false": annotated = false
                default: throw RecordQuery.bad("annotated", "'\(value)': 1 or true for the annotated copy, 0 or false for the plain one")
                }
            }
            let jpeg = try station.snapshot(inspection: id, annotated: annotated)
            return Response(status: .ok, headers: [.contentType: "image/jpeg"], body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
        }
        v1.get("/defects") { request, _ in
            let parameters = Self.parameters(request)
            let format = parameters.first(where: { $0.key == "format" })?.value.lowercased() ?? "json"
            switch format {
            case "json":
                let query = try RecordQuery(parameters, limits: Self.jsonLimits, defaultLimit: Self.jsonDefault,
                                            extra: ["format"])
                return try Routes.json(station.defects(query))
            case "csv":
                return try Self.csv(station, RecordQuery(parameters, limits: 1...Self.csvLimit,
                                                         defaultLimit: Self.csvLimit, extra: ["format"]))
            default:
                throw RecordQuery.bad("format", "'\(format)': csv or json")
            }
        }
    }

    /// The CSV answer, streamed page by page. The first page is read before the 200 goes out, so a bad cursor
    /// or an unreadable database still gets its JSON error.
    private static func csv(_ station: any StationAPI, _ query: RecordQuery) throws -> Response {
        let total = query.limit
        var firstPage = query
        firstPage.limit = min(csvPage, total)
        let page = firstPage
        let first = try station.defectsCSV(page, header: true)
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: first.text))
            var sent = first.rows, next = first.next
            while let cursor = next, sent < total {
                var query = page
                query.cursor = cursor
                query.limit = min(csvPage, total - sent)
                let chunk = try station.defectsCSV(query, header: false)
                try await writer.write(ByteBuffer(string: chunk.text))
                sent += chunk.rows
                next = chunk.next
            }
            try await writer.finish(nil)
        })
    }

    /// The query string's parameters, values percent-decoded, in order.
    private static func parameters(_ request: Request) -> [(key: String, value: String)] {
        request.uri.queryParameters.map { (key: String($0.key), value: String($0.value)) }
    }

    /// The `{id}` path parameter: a positive integer.
    private static func id(_ context: BasicRequestContext) throws -> Int64 {
        let text = try context.parameters.require("id")
        guard let id = Int64(text), id > 0 else {
            throw RecordQuery.bad("id", "'\(text)' is not an inspection id (a positive integer)")
        }
        return id
    }
}
