import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs command-line tools from tests (mosquitto, openssl, python, sqlite3, the built `inspectd`); shared by
/// every test target that starts processes.
public enum TestProcess {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Runs `executable` with `arguments` to completion; returns exit status and combined output.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(executable))
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tp-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        defer { try? handle.close(); try? FileManager.default.removeItem(at: out) }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) timed out after \(timeout) s")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        return (process.terminationStatus, text)
    }

    /// Runs a command that daemonizes (`mosquitto -d`) with posix_spawn + waitpid. Foundation's Process waits for
    /// every inheritor of its status pipe to exit, so with a daemonizing child it would never report termination.
    public static func runDaemonizing(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let path = try resolve(executable)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw Failure(description: "cannot start \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    /// Runs and throws unless the exit status is 0.
    @discardableResult
    public static func check(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> String {
        let r = try run(executable, arguments, timeout: timeout)
        guard r.status == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(r.status): \(r.output)")
        }
        return r.output
    }

    /// Absolute path of a tool: as given if it contains a slash, else searched in PATH and the sbin directories.
    public static func resolve(_ name: String) throws -> String {
        if name.contains("/") { return name }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/local/sbin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(description: "\(name) not found in PATH (install the Debian package that ships it; see Scripts/setup)")
    }

    /// The Python of the test tools (jsonschema, selenium, pymodbus, schemathesis): `$INSPECTD_PYTHON`, default
    /// the `.venv` that Scripts/setup makes in the repository.
    public static var python: String {
        ProcessInfo.processInfo.environment["INSPECTD_PYTHON"]
            ?? repositoryRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// The repository root (the directory holding Package.swift above this file).
    public static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return url
    }

    /// The built `inspectd` executable next to the test bundle (SwiftPM puts both in the same directory).
    public static func inspectdBinary() throws -> String {
        var dirs: [URL] = []
        if let exe = Bundle.main.executableURL { dirs.append(exe.deletingLastPathComponent()) }
        dirs.append(Bundle.main.bundleURL.deletingLastPathComponent())
        dirs.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for dir in dirs {
            var d = dir
            for _ in 0..<4 {  // the .xctest bundle may nest the test executable a few levels deep
                let candidate = d.appendingPathComponent("inspectd")
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                   FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
                d.deleteLastPathComponent()
            }
        }
        throw Failure(description: "built inspectd executable not found next to the test bundle (\(dirs.map(\.path))); run `swift build --product inspectd` with the same -c as the tests")
    }

    /// A fresh temporary directory for one test.
    public static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `../shared` next to the repository (datasets, reference models), or `$INSPECTD_SHARED`.
    public static var shared: String {
        ProcessInfo.processInfo.environment["INSPECTD_SHARED"]
            ?? repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared").path
    }
}
