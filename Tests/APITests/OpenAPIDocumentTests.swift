import API
@testable import Daemon
import Foundation
import Logging
import TestSupport
import XCTest

/// The served OpenAPI document is the committed Sources/API/openapi.json, is OpenAPI 3.1, and documents every
/// route the server answers.
final class OpenAPIDocumentTests: XCTestCase {
    func testServedDocumentIsTheCommittedOne() throws {
        let metrics = PipelineMetrics(), health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(60))
        let server = try APIServer(settings: .init(host: "127.0.0.1", port: 0), station: StationFacade(metrics: metrics, health: health),
                                   logger: Logger(label: "test.openapi"))
        defer { server.shutdown() }
        let dir = try TestProcess.temporaryDirectory("inspectd-openapi")
        defer { try? FileManager.default.removeItem(at: dir) }
        let served = try HTTPClient(port: server.port, directory: dir).get("/api/v1/openapi.json")
        XCTAssertEqual(served.status, 200)
        XCTAssertEqual(served.contentType, "application/json")
        let committed = try Data(contentsOf: TestProcess.repositoryRoot.appendingPathComponent("Sources/API/openapi.json"))
        let a = try JSONSerialization.jsonObject(with: served.body) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: committed) as? NSDictionary
        XCTAssertEqual(a, b, "the served document differs from Sources/API/openapi.json")
        XCTAssertEqual(a?["openapi"] as? String, "3.1.0")
        let paths = Set(((a?["paths"] as? [String: Any]) ?? [:]).keys)
        XCTAssertEqual(paths, ["/metrics", "/healthz", "/api/v1/openapi.json", "/api/v1/status", "/api/v1/cameras",
                               "/api/v1/cameras/{id}", "/api/v1/detect", "/api/v1/cameras/{id}/frame.jpg",
                               "/api/v1/cameras/{id}/trigger", "/api/v1/inspections", "/api/v1/inspections/{id}",
                               "/api/v1/inspections/{id}/snapshot.jpg", "/api/v1/defects", "/api/v1/events", "/api/v1/session",
                               "/api/v1/trends", "/api/v1/cameras/{id}/thresholds"])
    }
}
