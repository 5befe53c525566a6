import API
import Foundation

/// `http`: the station's one HTTP listener: the v1 API, `/metrics` and `/healthz`.
public struct HTTPConfig: Sendable, Equatable {
    /// Listen at all (default: `metrics.enabled`, which used to switch the metrics listener).
    public var enabled: Bool
    /// Where to listen; `127.0.0.1:9464` by default, port 0 = any free port (logged).
    public var listen: ListenAddress
    /// Largest request body accepted (an image for `/api/v1/detect`); larger gets 413.
    public var maxBody: Int
    /// Images waiting for `POST /api/v1/detect` at most; one more gets 429 with Retry-After.
    public var detectQueue: Int
    /// `auth.tokens_file`: the file the bearer tokens were read from; nil = no authentication.
    public var tokensFile: String?
    /// The tokens of `tokensFile` (read when the config is read, and again on every reload).
    public var tokens: [APIToken]
    /// `tls: {cert, key}`: serve HTTPS (files checked when the config is read, and again on every reload).
    public var tls: APIServer.TLSFiles?

    /// Default address: loopback only, the port Prometheus exporters of this kind use.
    static let defaultListen = ListenAddress(host: "127.0.0.1", port: 9464)

    /// Reads `http`; `metrics` is the already read `metrics` section, whose deprecated `listen` is migrated
    /// here (with a warning) when `http.listen` is not given.
    static func read(_ m: ConfigMapping, metrics: MetricsConfig, reader: ConfigReader) -> HTTPConfig {
        var listen = ListenAddress.read(m, "listen")
        if let legacy = metrics.legacyListen {
            if listen != nil {
                reader.report(ConfigPath.root.key("metrics").key("listen"),
                              "is replaced by http.listen, and both are set; remove metrics.listen")
            } else {
                listen = legacy
                reader.warn("metrics.listen is deprecated: write it as http.listen (\(legacy))")
            }
        }
        let enabled = m.bool("enabled", default: metrics.enabled)
        let (tokensFile, tokens) = m.section("auth") { a -> (String?, [APIToken]) in
            guard let file = a.path("tokens_file", .readableFile) else { return (nil, []) }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                // Never an empty token list for a named file: that would serve without authentication.
                if FileManager.default.isReadableFile(atPath: file) {  // else the path check reported it
                    a.report("tokens_file", "\(file) cannot be read as UTF-8 text")
                }
                return (file, [])
            }
            do { return (file, try APIToken.parse(text)) } catch {
                a.report("tokens_file", "\(file): \(error)")
                return (file, [])
            }
        }
        let tls: APIServer.TLSFiles? = m.has("tls") ? m.section("tls") { t in
            let cert = t.path("cert", .readableFile), key = t.path("key", .readableFile)
            if !t.has("cert") { t.report("cert", "is required with http.tls (PEM certificate chain)") }
            if !t.has("key") { t.report("key", "is required with http.tls (PEM private key)") }
            guard let cert, let key else { return nil }
            let files = APIServer.TLSFiles(cert: cert, key: key)
            // A file the path check refused was reported there already.
            let fm = FileManager.default
            guard fm.isReadableFile(atPath: cert), fm.isReadableFile(atPath: key) else { return files }
            do { _ = try files.configuration() } catch let problem as APIServer.TLSFiles.Problem {
                t.report(problem.key, problem.message)
            } catch {
                t.report("cert", "\(error)")
            }
            return files
        } : nil
        let address = listen ?? defaultListen
        // The API inspects images and (with triggers) acts on the line: reachable from other machines only with
        // tokens. A listen key that failed to read was reported already.
        if enabled && !address.isLoopback && tokensFile == nil && (listen != nil || metrics.legacyListen != nil) {
            reader.report(ConfigPath.root.key(metrics.legacyListen != nil && !m.has("listen") ? "metrics" : "http").key("listen"),
                          "\(address) is reachable from other machines, so http.auth.tokens_file is required "
                          + "(bearer tokens with roles); or listen on 127.0.0.1")
        }
        return HTTPConfig(enabled: enabled, listen: address,
                          maxBody: m.byteSize("max_body", default: 32 << 20, in: 1024...(1 << 30)),
                          detectQueue: m.int("detect_queue", default: 4, in: 1...1000),
                          tokensFile: tokensFile, tokens: tokens, tls: tls)
    }
}

/// A `HOST:PORT` to listen on (`[::1]:9464` for IPv6).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    /// 0 = any free port.
    public var port: Int

    /// Whether only this machine can connect (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Reads `key` of `m` as `HOST:PORT`; nil when absent or malformed (reported).
    static func read(_ m: ConfigMapping, _ key: String) -> ListenAddress? {
        guard let listen = m.string(key) else { return nil }
        if let colon = listen.lastIndex(of: ":"), let p = Int(listen[listen.index(after: colon)...]),
           (0...65535).contains(p), colon != listen.startIndex {
            return ListenAddress(host: String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
                                 port: p)
        }
        m.report(key, "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:9464)")
        return nil
    }
}
