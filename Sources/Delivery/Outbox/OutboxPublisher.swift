import Foundation
import GRDB
import Logging
import Synchronization
import Threading

/// Delivers the outbox to the broker, at least once and without loss:
/// - a message is published only after its outbox row is committed, and only while connected;
/// - it is marked delivered only on its PUBACK (reason code < 0x80), keyed by libmosquitto's message id — a PUBACK
///   that arrives before `mosquitto_publish` has returned that id is kept and matched right after;
/// - undelivered rows are sent oldest first, at most `inflightWindow` unacknowledged, so a long backlog after an
///   outage reaches the broker at the pace it acknowledges, not all at once;
/// - a row is published once per process: messages in flight when a connection drops are re-sent by libmosquitto
///   itself (same message id, DUP flag) after the reconnect, so the pump keeps their ids and does not re-publish
///   them, and a row acknowledged but not yet marked delivered in the database is never taken for pending;
/// - rows a broker rejected are picked up again by a periodic rescan;
/// - while the audit database cannot be written, the writer hands the messages of the records it holds to
///   ``publishDirect(_:)``: they are published from memory (after any pending rows, in the same window) and
///   settled into the outbox when their records are written back (see ``DirectRoute``).
///
/// The daemon creates one per process, after the ``AuditWriter``; subscribers de-duplicate by `event_id`.
///
/// Thread-safety invariant: mutable fields are touched only with `condition` locked. One pump thread publishes;
/// acks arrive on the MQTT loop thread; attempts and deliveries are written by the ``AuditWriter`` (single writer).
public final class OutboxPublisher: @unchecked Sendable, DirectRoute {
    /// Counters for health and stats.
    public struct Status: Sendable, Equatable {
        /// Broker connection up.
        public var connected: Bool
        /// Published, not yet acknowledged.
        public var inFlight: Int
        /// Messages handed to the broker since start (re-sends included).
        public var published: Int
        /// PUBACKs with a success reason code since start.
        public var acknowledged: Int
        /// Last connection problem (empty when none).
        public var lastProblem: String
    }

    private let store: AuditStore
    private let writer: AuditWriter
    private let logger: Logger
    private let window: Int
    private let rescanInterval: TimeInterval
    private var client: MQTTClient?
    private let condition = NSCondition()
    private var connected = false
    private var cursor: Int64 = 0
    private var moreInDatabase = true
    private var inFlight: [Int32: Int64] = [:]
    private var publishing = false
    private var earlyAcks: [Int32: Int32] = [:]
    private var stopping = false
    private let thread = LoopThread(name: "outbox-publisher")
    private var published = 0
    private var acknowledged = 0
    private var lastRescan = Date()
    /// Rows acknowledged whose delivered mark the writer may not have committed yet: a rescan must not take
    /// them for pending (that race re-sent hundreds of messages after an outage). Dropped once a read of
    /// the outbox no longer lists them.
    private var acknowledgedRows: Set<Int64> = []
    /// Messages from memory (the database failing). A leaf lock: the writer takes it under its own lock, the
    /// pump and the ack handler under `condition`; nothing is locked inside it.
    private let direct = Mutex(DirectState())
    private static let directLimit = 10_000

    struct DirectState {
        /// Not yet published, oldest first.
        var queue: [OutgoingMessage] = []
        /// Published, not yet acknowledged: message id → event id.
        var inFlight: [Int32: UUID] = [:]
        /// Acknowledged, not yet in the outbox.
        var acked: Set<UUID> = []
        /// Dropped from `queue` at its limit (they are published from the outbox after the write-back).
        var overflow = 0
    }

    /// Creates the publisher and its MQTT client. Throws ``MQTTError`` (one line per bad setting) when the
    /// settings cannot work; a broker that is down or refuses the login is not an error (it is retried).
    /// `onStateChange` is called on connection changes (from the MQTT thread; do not block in it).
    public init(store: AuditStore, writer: AuditWriter, settings: MQTTSettings, messages: MessageFactory,
                rescanInterval: TimeInterval = 30, logger: Logger = Logger(label: "inspectd.mqtt"),
                onStateChange: (@Sendable (MQTTConnectionState) -> Void)? = nil,
                onMessage: (@Sendable (MQTTInboundMessage) -> Void)? = nil) throws {
        self.store = store; self.writer = writer; self.logger = logger
        self.window = max(1, settings.inflightWindow); self.rescanInterval = rescanInterval
        let clientID = settings.clientID
        let box = WeakBox()
        client = try MQTTClient(
            settings: settings,
            online: { messages.status(online: true, clientID: clientID) },
            offline: { messages.status(online: false, clientID: clientID) },
            logger: logger,
            onAck: { mid, reason in box.publisher?.handleAck(mid: mid, reason: reason) },
            onState: { state in
                box.publisher?.handleState(state)
                onStateChange?(state)
            },
            onMessage: onMessage)
        box.publisher = self
        writer.onOutboxCommitted { [weak self] in self?.outboxChanged() }
        writer.attach(route: self)
    }

    /// Starts the broker connection and the delivery pump.
    public func start() {
        guard thread.start({ [self] in self.pump() }) else { return }
        client?.start()
    }

    /// Stops publishing, sends the retained `offline` status and disconnects. Undelivered rows stay in the
    /// outbox for the next start. Call ``AuditWriter/flush(timeout:)`` afterwards to record the last acks.
    public func stop(timeout: TimeInterval = 5) {
        condition.lock(); stopping = true; condition.broadcast(); condition.unlock()
        client?.stop(timeout: timeout)
        thread.join(until: Date(timeIntervalSinceNow: timeout))
    }

    /// Connection and delivery counters.
    public var status: Status {
        condition.lock(); defer { condition.unlock() }
        return Status(connected: connected, inFlight: inFlight.count, published: published, acknowledged: acknowledged,
                      lastProblem: client?.lastProblem ?? "")
    }

    // MARK: DirectRoute (called by the writer)

    func publishDirect(_ messages: [OutgoingMessage]) {
        direct.withLock { d in
            d.queue.append(contentsOf: messages)
            if d.queue.count > Self.directLimit {
                let excess = d.queue.count - Self.directLimit
                d.queue.removeFirst(excess)
                d.overflow += excess
            }
        }
        // Wake the pump without taking `condition` here (the writer holds its own lock).
        DispatchQueue.global().async { [weak self] in self?.outboxChanged() }
    }

    func settleDirect<T>(_ ids: Set<UUID>, commit: (Set<UUID>) throws -> (T, [UUID: Int64])) rethrows -> T {
        condition.lock(); defer { condition.unlock() }
        while publishing { condition.wait() }   // a message being handed to libmosquitto has no id yet
        let acked = direct.withLock { $0.acked.intersection(ids) }
        let (result, rows) = try commit(acked)
        direct.withLock { d in
            d.acked.subtract(ids)
            d.queue.removeAll { ids.contains($0.eventID) }
            for (mid, eventID) in d.inFlight where ids.contains(eventID) {
                d.inFlight[mid] = nil
                // Still in flight: its PUBACK (or libmosquitto's own re-send) now settles the outbox row.
                if let row = rows[eventID] { inFlight[mid] = row }
            }
        }
        return result
    }

    /// New rows were committed to the outbox.
    func outboxChanged() {
        condition.lock(); moreInDatabase = true; condition.broadcast(); condition.unlock()
    }

    // MARK: MQTT thread

    private func handleState(_ state: MQTTConnectionState) {
        condition.lock(); defer { condition.unlock() }
        // Messages in flight keep their ids across a reconnect: libmosquitto re-sends them itself and their
        // PUBACKs arrive under the same ids. Re-publishing them from the outbox would send each twice.
        let nowConnected = state == .connected
        if nowConnected { moreInDatabase = true }
        connected = nowConnected
        condition.broadcast()
    }

    private func handleAck(mid: Int32, reason: Int32) {
        condition.lock(); defer { condition.unlock() }
        if let id = inFlight.removeValue(forKey: mid) {
            settle(id: id, reason: reason)
        } else if settleDirectAck(mid: mid, reason: reason) {
        } else if publishing {
            earlyAcks[mid] = reason
        }
        condition.broadcast()
    }

    /// A PUBACK for a message sent from memory; false when `mid` is not one. Called with `condition` locked.
    private func settleDirectAck(mid: Int32, reason: Int32) -> Bool {
        let known = direct.withLock { d -> Bool in
            guard let eventID = d.inFlight.removeValue(forKey: mid) else { return false }
            if reason < 0x80 { d.acked.insert(eventID) }  // else: it goes out from the outbox after the write-back
            return true
        }
        if known && reason < 0x80 { acknowledged += 1 }
        return known
    }

    /// Called with `condition` locked.
    private func settle(id: Int64, reason: Int32) {
        if reason < 0x80 {
            acknowledged += 1
            acknowledgedRows.insert(id)
            writer.recordDelivered(id: id, at: Date())
        } else {
            logger.warning("mqtt: broker rejected outbox message \(id) (reason 0x\(String(reason, radix: 16))); it stays pending")
        }
    }

    // MARK: pump thread

    private func pump() {
        condition.lock()
        while !stopping {
            let directInFlight = direct.withLock { $0.inFlight.count }
            if connected && !moreInDatabase && inFlight.count + directInFlight < window,
               let m = direct.withLock({ $0.queue.first }) {
                publishFromMemory(m)
                continue
            }
            let ready = connected && moreInDatabase && inFlight.count + directInFlight < window
            if !ready {
                if connected && inFlight.isEmpty && Date().timeIntervalSince(lastRescan) >= rescanInterval {
                    cursor = 0; moreInDatabase = true; lastRescan = Date()
                    continue
                }
                _ = condition.wait(until: Date(timeIntervalSinceNow: 1))
                continue
            }
            let room = window - inFlight.count - directInFlight
            let after = cursor
            condition.unlock()
            let rows: [PendingRow]
            do {
                rows = try store.pool.read { db in
                    try PendingRow.fetchPending(db, after: after, limit: room)
                }
            } catch {
                logger.error("outbox read failed (retrying): \(error)")
                Thread.sleep(forTimeInterval: 1)
                condition.lock()
                continue
            }
            condition.lock()
            // Acknowledged rows this read covered but did not list have their delivered mark committed.
            let listed = Set(rows.map(\.id))
            let coveredUpTo = rows.count < room ? Int64.max : (rows.last?.id ?? Int64.max)
            acknowledgedRows = acknowledgedRows.filter { $0 <= after || $0 > coveredUpTo || listed.contains($0) }
            if rows.isEmpty { moreInDatabase = false; continue }
            let inFlightRows = Set(inFlight.values)
            for row in rows where row.id > cursor {
                if acknowledgedRows.contains(row.id) || inFlightRows.contains(row.id) { cursor = row.id; continue }
                if !connected || stopping { break }
                publishing = true
                earlyAcks.removeAll()
                condition.unlock()
                let result = client?.publish(row.topic, row.payload, qos: row.qos, retained: row.retained,
                                             correlation: row.correlation) ?? .notConnected
                let now = Date()
                condition.lock()
                publishing = false
                switch result {
                case .queued(let mid):
                    cursor = row.id
                    published += 1
                    writer.recordAttempt(id: row.id, at: now)
                    if let reason = earlyAcks.removeValue(forKey: mid) {
                        settle(id: row.id, reason: reason)
                    } else {
                        inFlight[mid] = row.id
                    }
                case .notConnected:
                    break
                case .failed(let code, let message):
                    cursor = row.id   // skipped until the next rescan, so one bad row cannot stall the rest
                    logger.error("mqtt: cannot publish outbox message \(row.id) to \(row.topic): \(message) (\(code))")
                }
                earlyAcks.removeAll()
                if case .notConnected = result { break }
            }
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Publishes one message held in memory (the database failing). Called with `condition` locked.
    private func publishFromMemory(_ m: OutgoingMessage) {
        publishing = true
        earlyAcks.removeAll()
        condition.unlock()
        let result = client?.publish(m.topic, m.payload, qos: m.qos, retained: m.retained,
                                     correlation: m.correlationData) ?? .notConnected
        condition.lock()
        publishing = false
        condition.broadcast()  // settleDirect may be waiting
        switch result {
        case .queued(let mid):
            published += 1
            let early = earlyAcks.removeValue(forKey: mid)
            direct.withLock { d in
                guard d.queue.first?.eventID == m.eventID else { return }
                d.queue.removeFirst()
                if let early { if early < 0x80 { d.acked.insert(m.eventID) } } else { d.inFlight[mid] = m.eventID }
            }
            if let early, early < 0x80 { acknowledged += 1 }
        case .notConnected:
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
        case .failed(let code, let message):
            // It stays in its record; the outbox publishes it after the write-back.
            direct.withLock { d in if d.queue.first?.eventID == m.eventID { d.queue.removeFirst() } }
            logger.error("mqtt: cannot publish held message to \(m.topic): \(message) (\(code))")
        }
        earlyAcks.removeAll()
    }
}


/// An undelivered outbox row, as the pump publishes it.
private struct PendingRow {
    var id: Int64, topic: String, payload: Data, qos: Int32, retained: Bool, correlation: Data?

    static func fetchPending(_ db: Database, after: Int64, limit: Int) throws -> [PendingRow] {
        try Row.fetchAll(db, sql: """
            SELECT id, topic, payload, qos, retained, correlation_data FROM outbox
            WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?
            """, arguments: [after, limit]).map {
            PendingRow(id: $0[0], topic: $0[1], payload: $0[2], qos: $0[3], retained: $0[4], correlation: $0[5])
        }
    }
}

/// Lets the MQTT client's callbacks reach the publisher without a retain cycle.
private final class WeakBox: @unchecked Sendable {
    // Written once in OutboxPublisher.init before the client starts; read-only afterwards.
    weak var publisher: OutboxPublisher?
}
