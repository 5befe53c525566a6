import Foundation

/// A real mosquitto broker for tests, on 127.0.0.1 at a free port, without systemd. Config with persistence and a pid file in its own directory; started with
/// `mosquitto -c FILE -d`; ready once `mosquitto_pub -q 1` succeeds; stopped with SIGTERM on the pid.
/// Refuses to start when the port is already taken (another broker would silently receive our messages).
public final class MosquittoBroker {
    /// Username/password authentication (written with `mosquitto_passwd`).
    public struct Auth {
        public var username: String, password: String
        public init(username: String, password: String) { self.username = username; self.password = password }
    }
    /// Server-side TLS material (PEM files); with `clientCertFile`/`clientKeyFile` the broker also requires a
    /// client certificate signed by the CA, and the readiness probe presents that one.
    public struct TLS {
        public var caFile: String, certFile: String, keyFile: String
        public var clientCertFile: String?, clientKeyFile: String?
        /// The server certificate names another host: mosquitto_pub/sub skip the host name check (`--insecure`).
        public var certificateForAnotherHost: Bool
        public init(caFile: String, certFile: String, keyFile: String, clientCertFile: String? = nil, clientKeyFile: String? = nil,
                    certificateForAnotherHost: Bool = false) {
            self.caFile = caFile; self.certFile = certFile; self.keyFile = keyFile
            self.clientCertFile = clientCertFile; self.clientKeyFile = clientKeyFile
            self.certificateForAnotherHost = certificateForAnotherHost
        }
    }

    public let directory: URL
    public let port: Int
    public let auth: Auth?
    public let tls: TLS?
    public private(set) var pid: Int32?

    /// Prepares a broker in `directory` (config, password file). `port` defaults to a free one.
    public init(directory: URL, port: Int? = nil, auth: Auth? = nil, tls: TLS? = nil) throws {
        self.directory = directory; self.auth = auth; self.tls = tls
        self.port = try port ?? Self.freePort()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var lines = [
            "listener \(self.port) 127.0.0.1",
            "persistence true",
            "persistence_location \(directory.path)/",
            "pid_file \(directory.path)/mosquitto.pid",
            "log_dest file \(directory.path)/mosquitto.log",
            "log_type error", "log_type warning", "log_type notice",
            "max_queued_messages 0",
        ]
        // Started as root, mosquitto drops to user `mosquitto`, which cannot write our temporary directory.
        if getuid() == 0 { lines.append("user root") }
        if let auth {
            let file = directory.appendingPathComponent("passwd").path
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            try TestProcess.check("mosquitto_passwd", ["-b", file, auth.username, auth.password])
            lines += ["allow_anonymous false", "password_file \(file)"]
        } else {
            lines.append("allow_anonymous true")
        }
        if let tls {
            lines += ["cafile \(tls.caFile)", "certfile \(tls.certFile)", "keyfile \(tls.keyFile)"]
            if tls.clientCertFile != nil { lines += ["require_certificate true"] }
        }
        try (lines.joined(separator: "\n") + "\n").write(to: configFile, atomically: true, encoding: .utf8)
    }

    public var configFile: URL { directory.appendingPathComponent("mosquitto.conf") }
    public var logFile: URL { directory.appendingPathComponent("mosquitto.log") }

    /// Starts the broker daemon and waits until it accepts a QoS 1 publish.
    public func start(timeout: TimeInterval = 10) throws {
        guard pid == nil else { return }
        if Self.isListening(port) {
            throw TestProcess.Failure(description: "port \(port) on 127.0.0.1 is busy: refusing to start a test broker there")
        }
        let status = try TestProcess.runDaemonizing("mosquitto", ["-c", configFile.path, "-d"])
        guard status == 0 else {
            throw TestProcess.Failure(description: "mosquitto -c \(configFile.path) -d exited \(status): \(log)")
        }
        let deadline = Date(timeIntervalSinceNow: timeout)
        var last = ""
        while Date() < deadline {
            let r = try TestProcess.run("mosquitto_pub", clientArguments() + ["-q", "1", "-t", "test/ready", "-m", "x"],
                                        timeout: 5)
            if r.status == 0 {
                let pidText = try String(contentsOf: directory.appendingPathComponent("mosquitto.pid"), encoding: .utf8)
                guard let p = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw TestProcess.Failure(description: "mosquitto pid file unreadable: \(pidText)")
                }
                pid = p
                return
            }
            last = r.output
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestProcess.Failure(description: "mosquitto on port \(port) not ready after \(timeout) s: \(last)\n\(log)")
    }

    /// Stops the broker with SIGTERM (it saves its persistence file) and waits until the process is gone.
    public func stop(timeout: TimeInterval = 10) {
        guard let pid else { return }
        kill(pid, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: timeout)
        while kill(pid, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        self.pid = nil
    }

    deinit { stop() }

    /// `-h -p` plus credentials and TLS options for mosquitto_pub/mosquitto_sub.
    public func clientArguments() -> [String] {
        var args = ["-h", "127.0.0.1", "-p", String(port)]
        if let auth { args += ["-u", auth.username, "-P", auth.password] }
        if let tls {
            args += ["--cafile", tls.caFile]
            if tls.certificateForAnotherHost { args.append("--insecure") }
            if let cert = tls.clientCertFile, let key = tls.clientKeyFile { args += ["--cert", cert, "--key", key] }
        }
        return args
    }

    /// The broker log (for failure messages).
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestProcess.Failure(description: "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else { throw TestProcess.Failure(description: "cannot bind a free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
