import Foundation
import TestSupport
import GRDB
import Logging
@testable import Delivery

/// Store + writer + outbox publisher wired as the daemon wires them, with captured logs and state changes.
final class DeliveryRig: @unchecked Sendable {
    let store: AuditStore
    let writer: AuditWriter
    let publisher: OutboxPublisher
    let logs: CapturedLogs
    let factory = Fixtures.factory

    init(databasePath: String, settings: MQTTSettings, rescanInterval: TimeInterval = 30) throws {
        store = try AuditStore(path: databasePath)
        writer = AuditWriter(store: store)
        writer.start()
        let logs = CapturedLogs()
        self.logs = logs
        let logger = Logger(label: "test.delivery") { _ in CapturingLogHandler(sink: logs) }
        publisher = try OutboxPublisher(store: store, writer: writer, settings: settings, messages: Fixtures.factory,
                                        rescanInterval: rescanInterval, logger: logger, onStateChange: { logs.states.append($0) })
    }

    /// Waits until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    static func wait(_ timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    /// Event ids in the outbox whose topic ends with `suffix`.
    func eventIDs(topicSuffix suffix: String) throws -> Set<String> {
        try Set(store.pool.read { try String.fetchAll($0, sql: "SELECT event_id FROM outbox WHERE topic LIKE ?",
                                                      arguments: ["%" + suffix]) })
    }

    func shutdown() {
        publisher.stop()
        writer.stop()
    }
}

/// Log lines and connection states seen by a rig (thread-safe).
final class CapturedLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    private var _states: [MQTTConnectionState] = []
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return _lines }
    var states: [MQTTConnectionState] {
        get { lock.lock(); defer { lock.unlock() }; return _states }
        set { lock.lock(); _states = newValue; lock.unlock() }
    }
    func append(_ line: String) { lock.lock(); _lines.append(line); lock.unlock() }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] } set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        sink.append("\(event.level): \(event.message)")
    }
}
