import Foundation
import XCTest
@testable import Daemon

/// The `http` section: defaults, sizes, and the migration of the old `metrics.listen`.
final class HTTPConfigTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "inspectd-httpconfig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/model.onnx", contents: Data([0])))
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func parse(_ extra: String) throws -> InspectdConfig {
        try InspectdConfig.parse(yaml: "site: {line: L1, station: S1}\nmodel: {path: model.onnx}\ncameras:\n"
                                 + "  - id: cam1\n    source: {type: synthetic}\n" + extra, file: "t.yaml", baseDirectory: dir)
    }

    private func problems(_ extra: String) -> [ConfigProblem] {
        do { _ = try parse(extra); return [] } catch let e as ConfigError { return e.problems } catch {
            XCTFail("\(error)"); return []
        }
    }

    func testListenAndMaxBody() throws {
        let c = try parse("http: {listen: \"0.0.0.0:0\", max_body: 8MB}\n")
        XCTAssertEqual(c.http.listen, ListenAddress(host: "0.0.0.0", port: 0))
        XCTAssertFalse(c.http.listen.isLoopback)
        XCTAssertEqual(c.http.maxBody, 8 << 20)
        XCTAssertEqual(try parse("http: {max_body: 4096}\n").http.maxBody, 4096)
        XCTAssertEqual(try parse("http: {listen: \"[::1]:9000\"}\n").http.listen.description, "[::1]:9000")
        XCTAssertTrue(try parse("http: {listen: \"[::1]:9000\"}\n").http.listen.isLoopback)
    }

    func testBadValuesNameTheKey() {
        let p1 = problems("http: {listen: nowhere}\n")
        XCTAssertEqual(p1.map(\.path), ["http.listen"]); XCTAssertTrue(p1.first?.message.contains("HOST:PORT") ?? false)
        let p2 = problems("http: {max_body: lots}\n")
        XCTAssertEqual(p2.map(\.path), ["http.max_body"]); XCTAssertTrue(p2.first?.message.contains("32MB") ?? false)
        let p3 = problems("http: {max_body: 2GB}\n")
        XCTAssertEqual(p3.map(\.path), ["http.max_body"]); XCTAssertTrue(p3.first?.message.contains("out of range") ?? false)
        XCTAssertEqual(problems("http: {port: 80}\n").map(\.path), ["http.port"])
    }

    /// The old key still works for one release, with a warning naming the new one; both at once is an error.
    func testMetricsListenIsMigratedWithAWarning() throws {
        let c = try parse("metrics: {listen: \"127.0.0.1:9999\"}\n")
        XCTAssertEqual(c.http.listen, ListenAddress(host: "127.0.0.1", port: 9999))
        XCTAssertEqual(c.warnings.count, 1)
        XCTAssertTrue(c.warnings[0].contains("metrics.listen is deprecated") && c.warnings[0].contains("http.listen"),
                      "\(c.warnings)")
        let both = problems("metrics: {listen: \"127.0.0.1:9999\"}\nhttp: {listen: \"127.0.0.1:9000\"}\n")
        XCTAssertEqual(both.map(\.path), ["metrics.listen"])
        XCTAssertTrue(both.first?.message.contains("replaced by http.listen") ?? false, "\(both)")
    }

    /// `metrics.enabled: false` used to mean no listener: it still does unless `http.enabled` says otherwise.
    func testEnabledFollowsMetricsEnabled() throws {
        XCTAssertFalse(try parse("metrics: {enabled: false}\n").http.enabled)
        XCTAssertTrue(try parse("metrics: {enabled: false}\nhttp: {enabled: true}\n").http.enabled)
        XCTAssertFalse(try parse("http: {enabled: false}\n").http.enabled)
    }
}
