import Foundation
import TestSupport
import XCTest

/// `http.tls`: the listener serves HTTPS with the configured certificate (verified by curl against the CA that
/// signed it), with bearer auth on top; plain HTTP to that port gets no answer from the API.
final class TLSAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-tls") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testHTTPSWithACertificateSignedByALocalCA() throws {
        // A CA, and a server certificate for localhost signed by it (as a plant's own PKI would issue).
        let d = dir.path
        _ = try TestProcess.check("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                          "-days", "2", "-subj", "/CN=inspectd test CA", "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem"])
        _ = try TestProcess.check("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                          "-subj", "/CN=localhost", "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(d)/san.ext", atomically: true, encoding: .utf8)
        _ = try TestProcess.check("openssl", ["x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                                          "-CAcreateserial", "-days", "2", "-extfile", "\(d)/san.ext", "-out", "\(d)/server.pem"])
        let viewer = "viewer-tls-0123456789abcdef"
        try "\(viewer) viewer\n".write(to: dir.appendingPathComponent("tokens"), atomically: true, encoding: .utf8)
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: tls}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras: []
            mqtt: {enabled: false}
            audit: {path: state/audit.db}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0", auth: {tokens_file: tokens}, tls: {cert: server.pem, key: server.key}}
            """, directory: dir)
        defer { daemon.stop() }
        var https = daemon.client
        https.caFile = "\(d)/ca.pem"
        let status = try https.get("/api/v1/status", headers: ["Authorization": "Bearer \(viewer)"])
        XCTAssertEqual(status.status, 200, status.text)
        XCTAssertEqual(status.object?["station"] as? String, "tls")
        XCTAssertEqual(try https.get("/api/v1/status").status, 401)
        XCTAssertEqual(try https.get("/healthz").status, 200)

        // Not trusted without the CA, and no API answer in plain HTTP on the TLS port.
        let untrusted = try TestProcess.run("curl", ["-s", "-S", "--resolve", "localhost:\(daemon.port):127.0.0.1",
                                                     "https://localhost:\(daemon.port)/healthz"])
        XCTAssertNotEqual(untrusted.status, 0, untrusted.output)
        let plain = try TestProcess.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                                                 "http://127.0.0.1:\(daemon.port)/healthz"])
        XCTAssertNotEqual(plain.output.trimmingCharacters(in: .whitespacesAndNewlines), "200", plain.output)
    }
}
