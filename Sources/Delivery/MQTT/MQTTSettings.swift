import Foundation

/// How to reach the broker. Mirrors the `mqtt:` section of the daemon config.
public struct MQTTSettings: Sendable, Equatable {
    /// MQTT protocol version.
    public enum ProtocolVersion: String, Sendable, Equatable {
        /// MQTT 3.1.1.
        case v311 = "3.1.1"
        /// MQTT 5 (session expiry, PUBACK reason codes).
        case v5 = "5"
    }
    /// TLS material. The broker's certificate is always verified against `caFile`; its host name too unless
    /// `verifyHostName` is false (`mqtt.tls.insecure`).
    public struct TLS: Sendable, Equatable {
        /// CA bundle (PEM) that signed the broker's certificate.
        public var caFile: String
        /// Client certificate (PEM), for brokers that require one.
        public var certFile: String?
        /// Client key (PEM, unencrypted).
        public var keyFile: String?
        /// Check that the broker certificate names the host connected to (leave on outside a lab).
        public var verifyHostName: Bool
        /// Creates TLS settings.
        public init(caFile: String, certFile: String? = nil, keyFile: String? = nil, verifyHostName: Bool = true) {
            self.caFile = caFile; self.certFile = certFile; self.keyFile = keyFile
            self.verifyHostName = verifyHostName
        }
    }

    /// Broker host name or address.
    public var host: String
    /// Broker port (1883, 8883 with TLS).
    public var port: Int
    /// Client id; stable across restarts so the broker keeps the session (clean_session=false).
    public var clientID: String
    /// Protocol version.
    public var protocolVersion: ProtocolVersion
    /// Keepalive interval in seconds.
    public var keepalive: Int
    /// User name, if the broker wants one.
    public var username: String?
    /// File holding the password (first line; trailing newline ignored).
    public var passwordFile: String?
    /// TLS, or nil for plain TCP.
    public var tls: TLS?
    /// MQTT 5 session expiry interval in seconds (clean_session=false alone ends the session at disconnect in v5).
    public var sessionExpiry: UInt32
    /// In-flight window: unacknowledged QoS 1 messages at most (MOSQ_OPT_SEND_MAXIMUM).
    public var inflightWindow: Int
    /// Back-off between connection attempts, from `retryDelayMin` doubling up to `retryDelayMax` seconds.
    public var retryDelayMin: Double
    /// Upper bound of the back-off.
    public var retryDelayMax: Double
    /// Topics subscribed to at QoS 1 on every connection (the triggered cameras' `{prefix}/{camera}/trigger`).
    public var subscriptions: [String] = []

    /// Creates settings with plant defaults.
    public init(host: String, port: Int = 1883, clientID: String, protocolVersion: ProtocolVersion = .v5,
                keepalive: Int = 30, username: String? = nil, passwordFile: String? = nil, tls: TLS? = nil,
                sessionExpiry: UInt32 = 7 * 24 * 3600, inflightWindow: Int = 100,
                retryDelayMin: Double = 1, retryDelayMax: Double = 30) {
        self.host = host; self.port = port; self.clientID = clientID; self.protocolVersion = protocolVersion
        self.keepalive = keepalive; self.username = username; self.passwordFile = passwordFile; self.tls = tls
        self.sessionExpiry = sessionExpiry; self.inflightWindow = inflightWindow
        self.retryDelayMin = retryDelayMin; self.retryDelayMax = retryDelayMax
    }

    /// Problems a plant engineer can fix (one line each, naming the setting); empty when usable.
    public func problems() -> [String] {
        var out: [String] = []
        if host.isEmpty { out.append("mqtt.host: empty") }
        if !(1...65535).contains(port) { out.append("mqtt.port: \(port) is not a TCP port (1-65535)") }
        if clientID.isEmpty || clientID.utf8.count > 23 && protocolVersion == .v311 {
            out.append("mqtt.client_id: must be 1-23 characters for MQTT 3.1.1 (got \(clientID.utf8.count))")
        }
        if !(5...65535).contains(keepalive) { out.append("mqtt.keepalive: \(keepalive) s is outside 5-65535") }
        if !(1...65535).contains(inflightWindow) { out.append("mqtt.inflight_window: \(inflightWindow) is outside 1-65535") }
        if passwordFile != nil && username == nil { out.append("mqtt.password_file: set without mqtt.username") }
        if let file = passwordFile, !FileManager.default.isReadableFile(atPath: file) {
            out.append("mqtt.password_file: \(file) is not readable")
        }
        if let tls {
            for (key, file) in [("ca_file", tls.caFile), ("cert_file", tls.certFile), ("key_file", tls.keyFile)] {
                if let file, !FileManager.default.isReadableFile(atPath: file) {
                    out.append("mqtt.tls.\(key): \(file) is not readable")
                }
            }
            if (tls.certFile == nil) != (tls.keyFile == nil) {
                out.append("mqtt.tls: cert_file and key_file go together")
            }
        }
        return out
    }
}
