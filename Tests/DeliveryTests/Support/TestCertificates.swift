import Foundation
import TestSupport

/// A throwaway CA with a server certificate for `serverNames` (default 127.0.0.1/localhost) and a client
/// certificate, made with openssl.
struct TestCertificates {
    let caFile: String, serverCert: String, serverKey: String, clientCert: String, clientKey: String

    init(directory: URL, name: String = "inspectd test", serverNames: String = "IP:127.0.0.1,DNS:localhost") throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func p(_ f: String) -> String { directory.appendingPathComponent(f).path }
        caFile = p("ca.crt"); serverCert = p("server.crt"); serverKey = p("server.key")
        clientCert = p("client.crt"); clientKey = p("client.key")
        try TestProcess.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"),
                                          "-out", caFile, "-days", "2", "-subj", "/CN=\(name) CA"])
        try "subjectAltName=\(serverNames)\n".write(toFile: p("server.ext"), atomically: true, encoding: .utf8)
        for (who, cert, key, ext) in [("server", serverCert, serverKey, ["-extfile", p("server.ext")]),
                                      ("client", clientCert, clientKey, [])] {
            try TestProcess.check("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", p("\(who).csr"),
                                              "-subj", "/CN=\(who == "server" ? serverNames.split(separator: ",")[0].split(separator: ":").last.map(String.init) ?? "server" : "inspectd-client")"])
            try TestProcess.check("openssl", ["x509", "-req", "-in", p("\(who).csr"), "-CA", caFile, "-CAkey", p("ca.key"),
                                              "-CAcreateserial", "-out", cert, "-days", "2"] + ext)
        }
    }
}
