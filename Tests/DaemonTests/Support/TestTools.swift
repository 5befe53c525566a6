import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Command-line tools for the daemon's end-to-end tests (the built `inspectd`, mosquitto, sqlite3).
enum TestTools {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The repository root (the directory holding Package.swift above this file).
    static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return url
    }

    /// `../shared` next to the repository, or `$INSPECTD_SHARED`.
    static var shared: String {
        ProcessInfo.processInfo.environment["INSPECTD_SHARED"]
            ?? repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared").path
    }

    /// The `inspectd` executable SwiftPM built next to the test bundle.
    static func inspectdBinary() throws -> String {
        var dir = Bundle.main.bundleURL
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("inspectd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        let fallback = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for d in [fallback, fallback.deletingLastPathComponent()] {
            let candidate = d.appendingPathComponent("inspectd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(description: "the inspectd executable is not next to the test bundle (\(Bundle.main.bundleURL.path)); "
                      + "build it with `swift build --product inspectd` in the same configuration")
    }

    /// Absolute path of a tool in PATH or the sbin directories.
    static func resolve(_ name: String) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/local/sbin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw Failure(description: "\(name) not found (its Debian package is in Scripts/setup)")
    }

    /// Runs a tool to completion; returns its exit status and combined output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.contains("/") ? executable : try resolve(executable))
        process.arguments = arguments
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        defer { try? handle.close(); try? FileManager.default.removeItem(at: out) }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) timed out after \(timeout) s")
        }
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw Failure(description: "cannot bind a free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// A mosquitto broker on 127.0.0.1 at a free port, run in the foreground as a child process (no daemonizing,
/// so no pid file and no orphan), as ourselves (started as root it would switch to the `mosquitto` user).
/// The pattern of Delivery's test broker, kept here so DaemonTests need no other test target.
final class TestBroker {
    let port: Int
    let directory: URL
    private let process = Process()

    init(directory: URL) throws {
        self.directory = directory
        port = try TestTools.freePort()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let user = String(cString: getpwuid(getuid()).pointee.pw_name)
        let config = directory.appendingPathComponent("mosquitto.conf")
        try "listener \(port) 127.0.0.1\nallow_anonymous true\npersistence false\nuser \(user)\n"
            .write(to: config, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: try TestTools.resolve("mosquitto"))
        process.arguments = ["-c", config.path]
        let log = directory.appendingPathComponent("mosquitto.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        let deadline = Date(timeIntervalSinceNow: 10)
        while !TestTools.isListening(port) {
            guard Date() < deadline, process.isRunning else {
                stop()
                throw TestTools.Failure(description: "mosquitto did not listen on \(port): "
                                        + ((try? String(contentsOf: log, encoding: .utf8)) ?? ""))
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date(timeIntervalSinceNow: 5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit { stop() }
}

/// `mosquitto_sub -v` on a topic filter, recording every message it receives.
final class TestSubscriber {
    struct Message { var topic: String; var payload: String }
    private let process = Process()
    private let output: URL

    init(broker: TestBroker, topic: String) throws {
        output = broker.directory.appendingPathComponent("sub-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: try TestTools.resolve("mosquitto_sub"))
        process.arguments = ["-h", "127.0.0.1", "-p", String(broker.port), "-t", topic, "-q", "1", "-v"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        try process.run()
    }

    /// Messages so far.
    var messages: [Message] {
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let space = line.firstIndex(of: " ") else { return nil }
            return Message(topic: String(line[..<space]), payload: String(line[space...].dropFirst()))
        }
    }

    /// Waits until `condition` holds or `timeout` passes; returns the messages.
    @discardableResult
    func wait(timeout: TimeInterval, until condition: ([Message]) -> Bool) -> [Message] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var current = messages
        while !condition(current) && Date() < deadline { Thread.sleep(forTimeInterval: 0.1); current = messages }
        return current
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date(timeIntervalSinceNow: 5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    }

    deinit { stop() }
}
