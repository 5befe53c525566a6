import Foundation
import GRDB
import Logging
import Threading

/// The only writer of the audit database. The pipeline submits inspections (with their outgoing messages),
/// service events, outbox-only messages and adaptive-threshold snapshots; one thread commits them in batches
/// (every `maxDelay` or `maxBatch` items, one transaction each), then tells the outbox publisher.
///
/// Back-pressure while the database works: the queue holds at most `capacity` items; when it is full, `submit`
/// blocks the caller until the writer has made room (service events never block: they may come from the
/// writer's own failure observers). A failing transaction (disk full, read-only, I/O error) is logged and
/// retried with back-off while the station keeps inspecting; what comes meanwhile is held in a bounded spill:
/// memory (`capacity` items), then, when `spillPath` is set, a ``SpillFile`` up to `spillMaxBytes`; beyond
/// that the oldest item is dropped, logged and counted (`lost`) rather than stalling the line. When the
/// database works again the spill is written back in submission order before anything newer.
///
/// The outbox lives in the same database, so while it fails the messages of held records are published from
/// memory through the ``DirectRoute`` (the ``OutboxPublisher``); they still enter the outbox on write-back,
/// as delivered when the broker acknowledged them, so none is re-sent by us. `stop` gives up at its deadline:
/// what is left goes to the spill file when there is one (written back at the next start), and it returns how
/// many items stayed unwritten anywhere: nothing is lost without a log line and a count.
///
/// Thread-safety invariant: every mutable field is read and written only while `condition` is locked.
public final class AuditWriter: @unchecked Sendable {
    /// Batching and retention knobs.
    public struct Settings: Sendable {
        /// Items per transaction at most.
        public var maxBatch: Int = 256
        /// How long the first queued item may wait for companions before its batch is committed.
        public var maxDelay: TimeInterval = 0.1
        /// Queue capacity; `submit` blocks when it is full.
        public var capacity: Int = 4096
        /// Pruning rules, or nil to keep everything.
        public var retention: RetentionPolicy?
        /// How often a pruning round starts.
        public var retentionInterval: TimeInterval = 60
        /// The spill file for records that do not fit in memory while the database fails (nil: memory only).
        public var spillPath: String?
        /// The spill file's size limit.
        public var spillMaxBytes: Int64
        /// Creates default settings.
        public init(maxBatch: Int = 256, maxDelay: TimeInterval = 0.1, capacity: Int = 4096,
                    retention: RetentionPolicy? = nil, retentionInterval: TimeInterval = 60,
                    spillPath: String? = nil, spillMaxBytes: Int64 = 256 << 20) {
            self.maxBatch = max(1, maxBatch); self.maxDelay = maxDelay; self.capacity = max(1, capacity)
            self.retention = retention; self.retentionInterval = retentionInterval
            self.spillPath = spillPath; self.spillMaxBytes = spillMaxBytes
        }
    }

    enum Item: Codable {
        case inspection(InspectionRecord, [OutgoingMessage])
        case event(ServiceEvent, [OutgoingMessage])
        case messages([OutgoingMessage])
        case adaptiveState(camera: String, state: Data, at: Date)
    }

    /// A queued item and its place in the submission order (kept when it moves to the spill file).
    struct Queued {
        var seq: UInt64
        var item: Item
    }

    enum OutboxUpdate {
        case attempted(id: Int64, at: Date)
        case delivered(id: Int64, at: Date)
    }

    /// The store written to.
    public let store: AuditStore
    private let settings: Settings
    private let logger: Logger
    private let condition = NSCondition()
    private var queue: [Queued] = []
    private var nextSeq: UInt64 = 0
    /// Orders this process's spilled items after an earlier process's.
    private let epoch = Int64(Date().timeIntervalSince1970 * 1e9)
    private let spill: SpillFile?
    /// Set once the spill file failed (its file system full too): memory only from then on.
    private var spillProblem: String?
    /// Items moved to the spill file at the stop deadline (kept for the next start, not lost).
    private var spilledAtStop: UInt64 = 0
    /// Messages handed to the direct route and not yet in the outbox.
    private var directIDs: Set<UUID> = []
    private weak var route: (any DirectRoute)?
    private var firstQueuedAt: Date?
    private var updates: [OutboxUpdate] = []
    private var submitted: UInt64 = 0
    private var committed: UInt64 = 0
    private var flushWanted = false
    private var stopping = false
    private let thread = LoopThread(name: "audit-writer")
    private var observers: [@Sendable () -> Void] = []
    private var failureObservers: [@Sendable (String?) -> Void] = []
    private var lastError: String?
    /// Items dropped or given up (a failing database with a full queue, or at the stop deadline).
    private var lostCount: UInt64 = 0
    /// Successful commits and the wall time spent in them (benchmarks).
    private var commits = 0
    private var commitTime: TimeInterval = 0
    /// After this, a failing commit is given up instead of retried (set by `stop`).
    private var giveUpAt: Date?

    /// Creates a writer for `store`; call ``start()`` before submitting.
    public init(store: AuditStore, settings: Settings = Settings(), logger: Logger = Logger(label: "inspectd.audit")) {
        self.store = store; self.settings = settings; self.logger = logger
        spill = settings.spillPath.map { SpillFile(path: $0, maxBytes: settings.spillMaxBytes) }
        if let spill, spill.count > 0 {
            logger.notice("audit spill \(spill.path): \(spill.count) records of an earlier run to write back")
        }
    }

    /// Lets messages of held records reach the broker while the database fails (the ``OutboxPublisher``).
    func attach(route: any DirectRoute) {
        condition.lock(); self.route = route; condition.unlock()
    }

    /// Calls `observer` (on the writer thread) after every commit that added outbox messages.
    public func onOutboxCommitted(_ observer: @escaping @Sendable () -> Void) {
        condition.lock(); observers.append(observer); condition.unlock()
    }

    /// Calls `observer` (on the writer thread) when writing starts failing (with the reason) and when it
    /// works again (nil).
    public func onFailureChange(_ observer: @escaping @Sendable (String?) -> Void) {
        condition.lock(); failureObservers.append(observer); condition.unlock()
    }

    /// Starts the writer thread (once; a second call does nothing).
    public func start() { thread.start { [self] in self.run() } }

    /// Records an inspection, its defects and its outgoing messages (all in one transaction).
    /// Blocks only while the queue is full. `urgent`: commit the batch now instead of at the end of
    /// `batch_interval`, because someone waits for this record's messages (a triggered part's result: a PLC
    /// gateway or MES waits on the result topic, and parts come a few per second, so the extra commits are cheap).
    public func submit(_ inspection: InspectionRecord, messages: [OutgoingMessage] = [], urgent: Bool = false) {
        enqueue(.inspection(inspection, messages), urgent: urgent)
    }

    /// Records a service event, with the messages it causes (e.g. a camera status or an alarm).
    public func submit(event: ServiceEvent, messages: [OutgoingMessage] = []) {
        enqueue(.event(event, messages))
    }

    /// Puts messages in the outbox that belong to no inspection or event (e.g. periodic stats).
    public func submit(messages: [OutgoingMessage]) {
        enqueue(.messages(messages))
    }

    /// Saves the adaptive-threshold state of `camera` (opaque JSON; replaces the previous one).
    public func saveAdaptiveState(camera: String, state: Data) {
        enqueue(.adaptiveState(camera: camera, state: state, at: Date()))
    }

    /// Blocks until everything submitted before this call is in the database (the spill written back too);
    /// false on timeout.
    @discardableResult
    public func flush(timeout: TimeInterval = .infinity) -> Bool {
        // NSCondition.wait(until:) traps on distantFuture, so an unbounded flush uses wait().
        let deadline = timeout.isFinite ? Date(timeIntervalSinceNow: timeout) : nil
        condition.lock(); defer { condition.unlock() }
        let target = submitted
        flushWanted = true
        condition.broadcast()
        while committed < target || (spill?.count ?? 0) > 0 {
            if let deadline { if !condition.wait(until: deadline) { return committed >= target } } else { condition.wait() }
        }
        return true
    }

    /// Flushes and stops the writer thread within `timeout`: a database still failing at the deadline is given
    /// up, each item left unwritten logged in one line with the count. Stop the ``OutboxPublisher`` first so its
    /// last PUBACKs are recorded; anything submitted after `stop` stays in memory only. Returns the items that
    /// were never written since start (dropped during a failure or left at the deadline).
    @discardableResult
    public func stop(timeout: TimeInterval = 30) -> Int {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        giveUpAt = deadline
        condition.unlock()
        flush(timeout: timeout)
        condition.lock()
        stopping = true
        condition.broadcast()
        // With a spill file, what is left after the deadline is moved there: a few more seconds for that.
        let grace: TimeInterval = spill == nil ? 0.5 : 5
        condition.unlock()
        thread.join(until: max(deadline, Date(timeIntervalSinceNow: grace)))
        condition.lock()
        let unwritten = lostCount + (submitted - committed)
        let kept = spill?.count ?? 0
        condition.unlock()
        if kept > 0, let spill {
            logger.notice("audit spill \(spill.path): \(kept) records kept for the next start (\(spilledAtStop) moved there at stop)")
        }
        return Int(unwritten)
    }

    /// Items accepted but never written (dropped while the database failed with a full queue, or given up at
    /// the stop deadline).
    public var lost: Int {
        condition.lock(); defer { condition.unlock() }
        return Int(lostCount)
    }

    /// Successful transactions so far and the wall time spent in them (`inspectd bench audit`).
    public var commitStats: (commits: Int, seconds: TimeInterval) {
        condition.lock(); defer { condition.unlock() }
        return (commits, commitTime)
    }

    /// Items in the spill file, waiting to be written back.
    public var spilled: Int {
        condition.lock(); defer { condition.unlock() }
        return spill?.count ?? 0
    }

    /// Items submitted but not yet committed.
    public var queuedCount: Int {
        condition.lock(); defer { condition.unlock() }
        return Int(submitted - committed)
    }

    /// The last write error, if the writer is currently failing (nil once a commit succeeds).
    public var failure: String? {
        condition.lock(); defer { condition.unlock() }
        return lastError
    }

    // MARK: used by OutboxPublisher (bounded by its in-flight window, so not subject to `capacity`)

    func recordAttempt(id: Int64, at: Date) { addUpdate(.attempted(id: id, at: at)) }
    func recordDelivered(id: Int64, at: Date) { addUpdate(.delivered(id: id, at: at)) }

    private func addUpdate(_ update: OutboxUpdate) {
        condition.lock()
        updates.append(update)
        if firstQueuedAt == nil { firstQueuedAt = Date() }
        condition.broadcast()
        condition.unlock()
    }

    private func enqueue(_ item: Item, urgent: Bool = false) {
        condition.lock()
        var bounded = true
        if case .event = item { bounded = false }
        while bounded && queue.count >= settings.capacity && thread.isRunning && !stopping && lastError == nil {
            condition.wait()
        }
        if lastError != nil { handDirect([item]) }
        if queue.count >= settings.capacity && lastError != nil { makeRoom() }
        queue.append(Queued(seq: nextSeq, item: item))
        nextSeq += 1
        submitted += 1
        if firstQueuedAt == nil { firstQueuedAt = Date() }
        if urgent { flushWanted = true }
        // Wake the writer only when a batch starts or fills: a wake-up per item costs a context switch per frame.
        if urgent || queue.count == 1 || queue.count >= settings.maxBatch { condition.broadcast() }
        condition.unlock()
    }

    /// The database is failing and memory is full: the oldest items go to the spill file, or, without one
    /// (or with it full or failing), the oldest is dropped, counted and logged. Called with `condition` locked.
    private func makeRoom() {
        if let spill, spillProblem == nil {
            let n = min(queue.count, settings.maxBatch)
            let entries = queue.prefix(n).map { SpillFile.Entry(epoch: epoch, seq: $0.seq, item: $0.item) }
            do {
                if try spill.append(entries) {
                    if spill.count == n { logger.error("audit database not writable and memory full: spilling to \(spill.path)") }
                    queue.removeFirst(n)
                    committed += UInt64(n)  // dealt with here; a flush waits for the spill's write-back instead
                    return
                }
                spillProblem = "spill file \(spill.path) full (\(settings.spillMaxBytes >> 20) MB)"
            } catch {
                spillProblem = "spill file \(spill.path) not writable: \(error)"
            }
            logger.error("\(spillProblem ?? ""); dropping the oldest records from now on")
        }
        queue.removeFirst()
        committed += 1  // dealt with: counted in `lostCount`, so a flush does not wait for it
        lostCount += 1
        if lostCount == 1 || lostCount.isMultiple(of: 1000) {
            logger.error("audit database not writable and \(settings.capacity) items held in memory: \(lostCount) oldest items dropped so far")
        }
    }

    /// Hands the messages of `items` to the direct route (once each). Called with `condition` locked.
    private func handDirect(_ items: [Item]) {
        guard let route else { return }
        var out: [OutgoingMessage] = []
        for item in items {
            for m in Self.messages(of: item) where !directIDs.contains(m.eventID) {
                directIDs.insert(m.eventID); out.append(m)
            }
        }
        if !out.isEmpty { route.publishDirect(out) }
    }

    private static func messages(of item: Item) -> [OutgoingMessage] {
        switch item {
        case .inspection(_, let m), .event(_, let m), .messages(let m): return m
        case .adaptiveState: return []
        }
    }

    // MARK: the writer thread

    private func run() {
        var retention = settings.retention.map { Retention(policy: $0, logger: logger) }
        var nextRetention = Date(timeIntervalSinceNow: min(5, settings.retentionInterval))
        var retentionRunning = false
        condition.lock()
        while true {
            var writeBackDue: Bool { lastError == nil && spillProblem == nil && (spill?.count ?? 0) > 0 }
            while queue.isEmpty && updates.isEmpty && !stopping && !writeBackDue {
                if retention != nil && (retentionRunning || Date() >= nextRetention) { break }
                if retention == nil { condition.wait() } else { _ = condition.wait(until: nextRetention) }
            }
            if stopping && queue.isEmpty && updates.isEmpty && !writeBackDue { break }
            if writeBackDue, let spill {
                writeBack(spill)
                continue
            }
            if let first = firstQueuedAt {
                let deadline = first.addingTimeInterval(settings.maxDelay)
                while queue.count < settings.maxBatch && !flushWanted && !stopping && Date() < deadline {
                    _ = condition.wait(until: deadline)
                }
            }
            let take = min(queue.count, settings.maxBatch)
            let batch = Array(queue.prefix(take))
            queue.removeFirst(take)
            let batchUpdates = updates
            updates.removeAll(keepingCapacity: true)
            firstQueuedAt = (queue.isEmpty && updates.isEmpty) ? nil : Date()
            condition.broadcast()
            condition.unlock()

            var addedMessages = false
            var written = true, spilled = false
            if !batch.isEmpty || !batchUpdates.isEmpty {
                (addedMessages, written, spilled) = commit(batch, batchUpdates, spillOnGiveUp: true)
            }
            if addedMessages {
                condition.lock(); let fire = observers; condition.unlock()
                for observer in fire { observer() }
            }
            if var r = retention, retentionRunning || Date() >= nextRetention {
                retentionRunning = r.step(store.pool)
                retention = r
                if !retentionRunning { nextRetention = Date(timeIntervalSinceNow: settings.retentionInterval) }
            }

            condition.lock()
            committed += UInt64(batch.count)
            if spilled { spilledAtStop += UInt64(batch.count) } else if !written { lostCount += UInt64(batch.count) }
            if committed >= submitted { flushWanted = false }
            condition.broadcast()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Writes the spill back in one transaction (called with `condition` locked; returns with it locked).
    /// Its file is deleted only after the commit: a stop at the deadline leaves it for the next start.
    private func writeBack(_ spill: SpillFile) {
        let taken: (entries: [SpillFile.Entry], unreadable: Int)
        do { taken = try spill.takeForWriteBack() } catch {
            spillProblem = "spill file \(spill.path) cannot be read back: \(error)"
            logger.error("\(spillProblem ?? "")")
            return
        }
        condition.unlock()
        if taken.unreadable > 0 {
            logger.error("audit spill \(spill.path): \(taken.unreadable) lines cut short (a crash while spilling) skipped")
        }
        let batch = taken.entries.map { Queued(seq: $0.seq, item: $0.item) }
        let (added, written, _) = commit(batch, [], spillOnGiveUp: false)
        if added {
            condition.lock(); let fire = observers; condition.unlock()
            for observer in fire { observer() }
        }
        condition.lock()
        if written {
            spill.writtenBack()
            logger.notice("audit spill \(spill.path): \(batch.count) records written back to the database")
        }
        condition.broadcast()
    }

    /// Commits one batch, retrying until it succeeds or, once `stop` set a deadline, until the deadline (then
    /// the batch goes to the spill file when `spillOnGiveUp` and there is one). Returns whether outbox rows
    /// were added, whether the batch was written and whether it was spilled instead.
    private func commit(_ queued: [Queued], _ batchUpdates: [OutboxUpdate], spillOnGiveUp: Bool)
        -> (added: Bool, written: Bool, spilled: Bool) {
        let batch = queued.map(\.item)
        var delay: TimeInterval = 0.1
        while true {
            do {
                condition.lock()
                let direct = directIDs.isEmpty ? Set<UUID>()
                    : Set(batch.flatMap { Self.messages(of: $0).map(\.eventID) }).intersection(directIDs)
                let route = self.route
                condition.unlock()
                let started = Date()
                let added: Bool
                if !direct.isEmpty, let route {
                    added = try route.settleDirect(direct) { acked in
                        try store.pool.write { db in try Self.write(batch, batchUpdates, db, delivered: acked) }
                    }
                } else {
                    added = try store.pool.write { db in try Self.write(batch, batchUpdates, db, delivered: []).0 }
                }
                condition.lock()
                commits += 1; commitTime += Date().timeIntervalSince(started)
                directIDs.subtract(direct)
                let hadError = lastError != nil
                lastError = nil
                let notify = hadError ? failureObservers : []
                condition.unlock()
                if hadError { logger.notice("audit database writable again") }
                for o in notify { o(nil) }
                return (added, true, false)
            } catch {
                let message = "audit database write failed (\(batch.count) items kept in memory, retrying in \(delay)s): \(error)"
                logger.error("\(message)")
                condition.lock()
                let first = lastError == nil
                lastError = message
                // Messages of what is held reach the broker from memory meanwhile.
                if first { handDirect(batch + queue.map(\.item)) }
                let notify = first ? failureObservers : []
                condition.broadcast()  // submitters blocked on a full queue may now drop instead of waiting
                condition.unlock()
                for o in notify { o("\(error)") }
                condition.lock()
                if let giveUpAt, Date() >= giveUpAt {
                    if spillOnGiveUp, let spill, spillProblem == nil,
                       (try? spill.append(queued.map { SpillFile.Entry(epoch: epoch, seq: $0.seq, item: $0.item) })) == true {
                        condition.unlock()
                        return (false, false, true)
                    }
                    condition.unlock()
                    logger.error("audit database not writable at shutdown: \(batch.count) items not written (\(error))")
                    return (false, false, false)
                }
                let wake = min(Date(timeIntervalSinceNow: delay), giveUpAt ?? .distantFuture)
                _ = condition.wait(until: wake)
                condition.unlock()
                delay = min(delay * 2, 5)
            }
        }
    }

    /// Writes `batch` and `batchUpdates`; messages in `delivered` (sent from memory and acknowledged) enter the
    /// outbox as delivered. Returns whether outbox rows were added and the row of each message inserted.
    private static func write(_ batch: [Item], _ batchUpdates: [OutboxUpdate], _ db: Database,
                              delivered: Set<UUID>) throws -> (Bool, [UUID: Int64]) {
        let now = Timestamp.sqlite(Date())
        var added = false
        var rows: [UUID: Int64] = [:]
        let insertInspection = try db.cachedStatement(sql: """
            INSERT INTO inspections (camera, sequence, captured_at, verdict, defect_count, latency_ms, model_sha256,
                config_revision, snapshot_path, annotated_path, recorded_at, error, part_id, lot, order_id, recipe,
                part_meta, trigger_id, trigger_source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """)
        let insertDefect = try db.cachedStatement(sql: """
            INSERT INTO defects (inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2)
            VALUES (?,?,?,?,?,?,?,?,?)
            """)
        // OR IGNORE: a spill written back twice (a crash between its commit and the file's removal) must not
        // jam the writer on the event id's UNIQUE index.
        let insertMessage = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO outbox (event_id, topic, payload, qos, retained, state, created_at, inspection_id,
                delivered_at, correlation_data) VALUES (?,?,?,?,?,?,?,?,?,?)
            """)
        func insert(_ messages: [OutgoingMessage], inspectionID: Int64?) throws {
            for m in messages {
                let done = delivered.contains(m.eventID)
                try insertMessage.execute(arguments: [MessageFactory.id(m.eventID), m.topic, m.payload,
                                                      m.qos, m.retained, done ? "delivered" : "pending", now,
                                                      inspectionID, done ? now : nil, m.correlationData])
                if db.changesCount > 0 { rows[m.eventID] = db.lastInsertedRowID }
                added = true
            }
        }
        for item in batch {
            switch item {
            case .inspection(let r, let messages):
                try insertInspection.execute(arguments: [
                    r.camera, Int64(bitPattern: r.sequence), Timestamp.sqlite(r.captureTime), r.verdict, r.defects.count,
                    r.latencyMillis, r.modelSHA256, r.configRevision, r.snapshotPath, r.annotatedPath, now, r.error,
                    r.part?.partID, r.part?.lot, r.part?.order, r.part?.recipe, r.part?.meta, r.part?.triggerID,
                    r.part?.source])
                let id = db.lastInsertedRowID
                for d in r.defects {
                    try insertDefect.execute(arguments: [id, d.classID, d.className, d.confidence, d.threshold,
                                                         d.x1, d.y1, d.x2, d.y2])
                }
                try insert(messages, inspectionID: id)
            case .event(let e, let messages):
                try db.execute(sql: "INSERT INTO service_events (at, kind, camera, detail) VALUES (?,?,?,?)",
                               arguments: [Timestamp.sqlite(e.at), e.kind.rawValue, e.camera, e.detail])
                try insert(messages, inspectionID: nil)
            case .messages(let messages):
                try insert(messages, inspectionID: nil)
            case .adaptiveState(let camera, let state, let at):
                try db.execute(sql: """
                    INSERT INTO adaptive_state (camera, state, updated_at) VALUES (?,?,?)
                    ON CONFLICT(camera) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                    """, arguments: [camera, state, Timestamp.sqlite(at)])
            }
        }
        if !batchUpdates.isEmpty {
            let attempted = try db.cachedStatement(sql: """
                UPDATE outbox SET attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, ?1),
                    last_attempt_at = ?1 WHERE id = ?2
                """)
            let delivered = try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'delivered', delivered_at = ? WHERE id = ? AND state = 'pending'
                """)
            for update in batchUpdates {
                switch update {
                case .attempted(let id, let at): try attempted.execute(arguments: [Timestamp.sqlite(at), id])
                case .delivered(let id, let at): try delivered.execute(arguments: [Timestamp.sqlite(at), id])
                }
            }
        }
        return (added, rows)
    }
}
