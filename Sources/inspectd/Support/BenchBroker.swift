import Foundation
#if canImport(Glibc)
import Glibc
#endif
// SOCK_STREAM comes with CModbus's module here (see BenchHTTPConnection.swift).
import ArgumentParser
import CModbus

/// A mosquitto broker a bench starts for itself on a free loopback port, its config and log in `directory`
/// (`inspectd bench trigger`, `inspectd bench http --soak`). Nagle's algorithm is off (`set_tcp_nodelay`), as the
/// README asks of a plant's broker, and queues are unbounded: a bench must not lose what it counts.
final class BenchBroker {
    /// The installed mosquitto, if any.
    static let executable = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"]
        .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    let port: Int
    private let process = Process()

    /// Starts the broker; throws when mosquitto is not installed or does not start.
    init(directory: URL) throws {
        guard let executable = Self.executable else { throw ValidationError("mosquitto is not installed (apt-get install mosquitto)") }
        port = try Self.freePort()
        let conf = directory.appendingPathComponent("mosquitto.conf"), log = directory.appendingPathComponent("mosquitto.log")
        try """
            listener \(port) 127.0.0.1
            allow_anonymous true
            persistence false
            set_tcp_nodelay true
            max_queued_messages 0
            \(getuid() == 0 ? "user root" : "")
            """.write(to: conf, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", conf.path]
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Stops it with SIGKILL: mosquitto inherits the bench's signal mask, in which SIGTERM is blocked (seen in its
    /// /proc/PID/status SigBlk), so it would never stop on SIGTERM; it keeps nothing on disk.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// A port the kernel just gave out on 127.0.0.1 (free for the moment it takes to start a server on it).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ValidationError("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
