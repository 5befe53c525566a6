import Foundation
import Logging
import Synchronization

/// A swift-log handler for a daemon whose stderr goes to the systemd journal: every line starts with its syslog
/// priority (`<3>` error … `<7>` debug, sd-daemon(3)), so `journalctl -p warning` selects by level. Journald
/// adds the timestamp and unit, so lines carry neither. `bootstrap(level:)` picks it when systemd started us.
public struct JournalLogHandler: LogHandler {
    /// The handler's label (the logger's name), shown before each message.
    public let label: String
    /// The minimum level logged.
    public var logLevel: Logger.Level
    /// Metadata added to every message of this logger.
    public var metadata: Logger.Metadata = [:]
    private let write: @Sendable (String) -> Void

    /// A handler writing lines through `write` (one call per message, possibly several lines).
    public init(label: String, logLevel: Logger.Level = .info, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = logLevel
        self.write = write
    }

    /// A handler writing to standard error, one message at a time, so lines of concurrent messages do not
    /// interleave.
    public static func standardError(label: String, logLevel: Logger.Level = .info) -> JournalLogHandler {
        JournalLogHandler(label: label, logLevel: logLevel) { text in
            stderrLock.withLock { _ in FileHandle.standardError.write(Data(text.utf8)) }
        }
    }

    /// Sets up swift-log for the process: this handler when stderr is the journal (systemd started us), else
    /// swift-log's plain stderr handler (timestamps and level names, for a terminal).
    public static func bootstrap(level: Logger.Level,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) {
        let journal = isJournalStream(fd: 2, environment: environment)
        LoggingSystem.bootstrap { label in
            if journal { return JournalLogHandler.standardError(label: label, logLevel: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The syslog priority of a swift-log level (RFC 5424 numbers, as sd-daemon(3)'s SD_ERR … SD_DEBUG).
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Whether file descriptor `fd` is the journal stream systemd gave us: `JOURNAL_STREAM` ("DEVICE:INODE")
    /// names it, and must match `fd`, since a child whose stderr was redirected inherits the variable too.
    public static func isJournalStream(fd: Int32 = 2,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        if let error = event.error { all["error"] = "\(error)" }
        let suffix = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: " ")
        let prefix = "<\(Self.priority(of: event.level))>"
        // Journald makes each line its own entry: every line of a multi-line message gets the priority.
        let lines = "\(label): \(event.message)\(suffix)".split(separator: "\n", omittingEmptySubsequences: false)
        write(lines.map { prefix + $0 + "\n" }.joined())
    }
}

private let stderrLock = Mutex<Void>(())
