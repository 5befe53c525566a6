import Foundation

/// `mqtt`: the broker connection and what is published.
public struct MQTTConfig: Sendable, Equatable {
    /// Publish at all; off = record in the audit store only.
    public var enabled: Bool
    public var host: String
    public var port: Int
    /// Client id; also the persistent session's name at the broker.
    public var clientID: String
    /// MQTT protocol version.
    public var protocolVersion: ProtocolVersion
    public var keepalive: Duration
    public var username: String?
    /// File holding the password (first line), so the config can be world-readable.
    public var passwordFile: String?
    /// TLS; nil = plain TCP.
    public var tls: TLS?
    /// Topic prefix with `{line}` and `{station}` already substituted.
    public var topicPrefix: String
    /// Also publish a message for OK frames.
    public var publishOK: Bool
    /// Messages in flight (published, not yet acknowledged) at most.
    public var inflight: Int

    /// `protocol`.
    public enum ProtocolVersion: String, Sendable, CaseIterable { case v311 = "3.1.1", v5 = "5" }

    /// `tls`: CA to verify the broker, optional client certificate and key.
    public struct TLS: Sendable, Equatable {
        public var ca: String
        public var cert: String?, key: String?
        /// Skip the broker certificate's host name check (tests only).
        public var insecure: Bool
    }

    static func read(_ m: ConfigMapping, site: SiteConfig?) -> MQTTConfig {
        let line = site?.line ?? "line", station = site?.station ?? "station"
        let enabled = m.bool("enabled", default: true)
        let tls: TLS? = m.has("tls") ? m.section("tls") { t in
            let ca = t.has("ca") ? t.path("ca", .readableFile) : { t.report("ca", "is required for TLS"); return nil }()
            let cert = t.path("cert", .readableFile), key = t.path("key", .readableFile)
            if (cert == nil) != (key == nil) && (t.has("cert") != t.has("key")) {
                t.reportHere("give both cert and key for a client certificate, or neither")
            }
            let insecure = t.bool("insecure", default: false)
            return ca.map { TLS(ca: $0, cert: cert, key: key, insecure: insecure) }
        } : nil
        let prefixTemplate = m.string("topic_prefix", default: "inspect/{line}/{station}")
        let prefix = prefixTemplate.replacingOccurrences(of: "{line}", with: line)
            .replacingOccurrences(of: "{station}", with: station)
        let levels = prefix.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if prefix.contains("{") {
            m.report("topic_prefix", "only {line} and {station} may be substituted")
        } else if levels.contains(where: \.isEmpty) {
            m.report("topic_prefix", "'\(SafeName.printable(prefix))' is not a valid topic prefix (no empty levels "
                     + "or leading/trailing '/')")
        } else if let problem = levels.lazy.compactMap({ SafeName.problem($0) }).first {
            m.report("topic_prefix", "a level of '\(SafeName.printable(prefix))': \(problem)")
        }
        let username = m.string("username")
        let passwordFile = m.path("password_file", .readableFile)
        if passwordFile != nil && username == nil { m.report("password_file", "needs mqtt.username") }
        let defaultPort = tls == nil ? 1883 : 8883
        return MQTTConfig(enabled: enabled,
                          host: m.string("host", default: "127.0.0.1"),
                          port: m.int("port", default: defaultPort, in: 1...65535),
                          clientID: m.string("client_id", default: "inspectd-\(line)-\(station)"),
                          protocolVersion: m.choice("protocol", default: .v5),
                          keepalive: m.duration("keepalive", default: .seconds(30),
                                                in: .seconds(5)...(.seconds(3600))),
                          username: username, passwordFile: passwordFile, tls: tls, topicPrefix: prefix,
                          publishOK: m.bool("publish_ok", default: false),
                          inflight: m.int("inflight", default: 20, in: 1...65535))
    }
}
