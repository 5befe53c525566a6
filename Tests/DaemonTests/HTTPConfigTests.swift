import Foundation
import API
import TestSupport
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
        try "0123456789abcdef0123 viewer\n".write(toFile: dir + "/tokens", atomically: true, encoding: .utf8)
        let c = try parse("http: {listen: \"0.0.0.0:0\", max_body: 8MB, auth: {tokens_file: tokens}}\n")
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

    /// A listener other machines can reach needs tokens; the tokens file is checked when the config is read.
    func testAuthIsRequiredOffLoopbackAndTheTokensFileIsChecked() throws {
        let open = problems("http: {listen: \"0.0.0.0:9464\"}\n")
        XCTAssertEqual(open.map(\.path), ["http.listen"])
        XCTAssertTrue(open.first?.message.contains("http.auth.tokens_file is required") ?? false, "\(open)")
        let legacy = problems("metrics: {listen: \"192.168.1.5:9464\"}\n")
        XCTAssertEqual(legacy.map(\.path), ["metrics.listen"], "\(legacy)")
        XCTAssertEqual(problems("http: {listen: \"0.0.0.0:9464\", enabled: false}\n").map(\.path), [])

        let missing = problems("http: {auth: {tokens_file: nope}}\n")
        XCTAssertEqual(missing.map(\.path), ["http.auth.tokens_file"]); XCTAssertTrue(missing[0].message.contains("does not exist"))
        for (text, says) in [("short viewer\n", "at least 16"), ("0123456789abcdef0123 admin\n", "not viewer or operator"),
                             ("0123456789abcdef0123\n", "TOKEN ROLE"), ("# nothing\n\n", "no token"),
                             ("0123456789abcdef0123 viewer\n0123456789abcdef0123 operator\n", "line 2")] {
            try text.write(toFile: dir + "/tokens", atomically: true, encoding: .utf8)
            let p = problems("http: {auth: {tokens_file: tokens}}\n")
            XCTAssertEqual(p.map(\.path), ["http.auth.tokens_file"], text)
            XCTAssertTrue(p.first?.message.contains(says) ?? false, "\(text): \(p)")
        }
        try Data([0x30, 0xFF, 0xFE, 0x20, 0x76, 0x0A]).write(to: URL(fileURLWithPath: dir + "/tokens"))
        let binary = problems("http: {auth: {tokens_file: tokens}}\n")
        XCTAssertEqual(binary.map(\.path), ["http.auth.tokens_file"]); XCTAssertTrue(binary.first?.message.contains("UTF-8") ?? false, "\(binary)")
        try "# station tokens\n0123456789abcdef0123 viewer\n\tfedcba9876543210fedc\toperator \n".write(
            toFile: dir + "/tokens", atomically: true, encoding: .utf8)
        let c = try parse("http: {listen: \"0.0.0.0:9464\", auth: {tokens_file: tokens}}\n")
        XCTAssertEqual(c.http.tokens.map(\.role), [.viewer, .operator])
        XCTAssertEqual(c.http.tokensFile, dir + "/tokens")
    }

    /// `http.tls`: both files required and readable, each a PEM of the right kind, the key the certificate's.
    func testTLSFilesAreCheckedWhenTheConfigIsRead() throws {
        for name in ["a", "b"] {
            _ = try TestProcess.check("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                         "-subj", "/CN=localhost", "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).pem"])
        }
        let c = try parse("http: {tls: {cert: a.pem, key: a.key}}\n")
        XCTAssertEqual(c.http.tls, APIServer.TLSFiles(cert: dir + "/a.pem", key: dir + "/a.key"))
        XCTAssertNil(try parse("http: {}\n").http.tls)

        XCTAssertEqual(problems("http: {tls: {cert: a.pem}}\n").map(\.path), ["http.tls.key"])
        XCTAssertEqual(problems("http: {tls: {cert: nope.pem, key: a.key}}\n").map(\.path), ["http.tls.cert"])
        let swapped = problems("http: {tls: {cert: a.key, key: a.pem}}\n")
        XCTAssertEqual(swapped.map(\.path), ["http.tls.cert"])
        XCTAssertTrue(swapped.first?.message.contains("PEM certificate") ?? false, "\(swapped)")
        let mismatch = problems("http: {tls: {cert: a.pem, key: b.key}}\n")
        XCTAssertEqual(mismatch.map(\.path), ["http.tls.key"])
        XCTAssertTrue(mismatch.first?.message.contains("does not belong") ?? false, "\(mismatch)")
    }
}
