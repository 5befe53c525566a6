import Foundation
import GRDB
import GRDBSQLite

/// The audit database: every judged frame, its defects, the MQTT outbox, service events and the adaptive
/// threshold state, in one SQLite file that `inspectd audit` and plain `sqlite3` can read while the daemon writes.
///
/// Opened once per process for writing (only ``AuditWriter`` writes inspections, the outbox and events; the
/// others read). Readers use ``openReadOnly(path:)``.
///
/// ## SCHEMA (version 1; README-ready)
///
/// Times are UTC text `YYYY-MM-DD HH:MM:SS.SSS`, so `datetime('now','-1 day')` compares directly.
///
/// | table | one row per | columns |
/// |---|---|---|
/// | `inspections` | judged frame | `id`, `camera`, `sequence` (frame sequence), `captured_at`, `verdict` (`OK`/`NG`/`ERROR`), `defect_count`, `latency_ms` (capture → verdict), `model_sha256`, `config_revision`, `snapshot_path`, `annotated_path`, `recorded_at`, `error` (why an `ERROR` frame was not judged) |
/// | `defects` | defect that passed its threshold | `id`, `inspection_id` → `inspections.id` (cascade delete), `class_id`, `class_name`, `confidence`, `threshold` (in force when judged), `x1`,`y1`,`x2`,`y2` (source-frame pixels) |
/// | `outbox` | MQTT message | `id` (publish order), `event_id` (UUID, unique, also in the payload), `topic`, `payload` (JSON blob), `qos`, `retained`, `state` (`pending`/`delivered`), `attempts`, `created_at`, `first_attempt_at`, `last_attempt_at`, `delivered_at`, `inspection_id` (no foreign key: survives pruning) |
/// | `service_events` | lifecycle event | `id`, `at`, `kind` (`start`,`stop`,`config_reload`,`camera_down`,`camera_up`,`threshold_change`,`alarm`,`error`), `camera`, `detail` |
/// | `adaptive_state` | camera | `camera` (primary key), `state` (opaque JSON from the daemon), `updated_at` |
///
/// Indexes: `inspections(captured_at)`, `inspections(camera, captured_at)`, `defects(inspection_id)`,
/// `defects(class_name)`, `outbox(id) WHERE state='pending'`, `outbox(created_at)`, `service_events(at)`,
/// `service_events(kind, at)`.
///
/// Pragmas: `auto_vacuum=INCREMENTAL` (set on a new file before WAL), `journal_mode=WAL`, `synchronous=FULL` by
/// default (a commit is on disk when it returns: a power cut loses nothing committed; `NORMAL` skips that fsync,
/// so a power cut can roll back the last commits, never corrupt), `busy_timeout` 5 s, `foreign_keys=ON`.
///
/// Persistent WAL (`SQLITE_FCNTL_PERSIST_WAL` on every connection): the last close merges the WAL but leaves the
/// `-wal` and `-shm` files (the WAL keeps its size). SQLite's default deletes them, and a station restarted on a
/// full disk then cannot even open its database (it must create both files), so it exits instead of starting
/// degraded with its records held in memory. The files left are the room such a start needs. The WAL must also
/// not be empty: GRDB writes a transaction at open to a zero-byte WAL, which fails on a full disk; retention,
/// which truncates the WAL, therefore leaves one frame in it (see ``Retention``).
///
/// Memory: SQLite's page caches are bounded for the whole process by ``memoryLimitBytes`` (`PRAGMA
/// soft_heap_limit`). Without it each connection of the pool may cache 2 MiB (SQLite's default `cache_size`), and
/// the caches fill for hours as the database grows and API queries touch new pages, so the daemon's memory never
/// looks flat. Past the limit SQLite reuses cache pages instead of allocating; a page it dropped is read again
/// from the kernel's file cache.
public final class AuditStore: Sendable {
    /// The soft limit on all the memory SQLite holds in this process (page caches, statements, schema).
    public static let memoryLimitBytes = 4 << 20
    /// What SQLite holds now in this process (`sqlite3_memory_used`), in bytes.
    public static var memoryUsedBytes: Int64 { sqlite3_memory_used() }
    /// The pool: one writer connection (used by ``AuditWriter``) and concurrent WAL readers.
    public let pool: DatabasePool
    /// The database file.
    public let path: String

    /// SQLite's `synchronous` for the writer connection (WAL mode).
    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync of the WAL at every commit: committed records survive a power cut.
        case full = "FULL"
        /// fsync only at checkpoints: a power cut can roll back the last commits (never corrupts).
        case normal = "NORMAL"
    }

    /// Opens (creating if needed) the audit database at `path` and migrates it to the current schema.
    public init(path: String, synchronous: Synchronous = .full) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            // auto_vacuum only takes effect on an empty file and must come before WAL.
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            try queue.close()
        }
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.label = "inspectd.audit"
        config.prepareDatabase { db in
            // Process-wide; set on every connection so no order of opening can miss it.
            _ = try Int.fetchOne(db, sql: "PRAGMA soft_heap_limit = \(Self.memoryLimitBytes)")
            var persist: Int32 = 1
            let rc = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
            guard rc == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "persistent WAL") }
        }
        pool = try DatabasePool(path: path, configuration: config)
        // Set here, not in `prepareDatabase`: GRDB's WAL set-up puts its writer to `synchronous = NORMAL` after
        // `prepareDatabase` has run. Only this one connection writes, so only it needs the setting.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)") }
        try Self.migrator.migrate(pool)
    }

    /// Opens an existing audit database read-only (safe while the daemon writes; never blocks it).
    public static func openReadOnly(path: String) throws -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AuditStoreError.missingDatabase(path)
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: config)
        let hasSchema = try queue.read { try $0.tableExists("inspections") && $0.tableExists("outbox") }
        guard hasSchema else { throw AuditStoreError.notAnAuditDatabase(path) }
        return queue
    }

    /// The versioned schema. Add a new `registerMigration` for every change; never edit a shipped one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE inspections (
                    id INTEGER PRIMARY KEY,
                    camera TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    captured_at TEXT NOT NULL,
                    verdict TEXT NOT NULL CHECK (verdict IN ('OK', 'NG')),
                    defect_count INTEGER NOT NULL,
                    latency_ms REAL NOT NULL,
                    model_sha256 TEXT NOT NULL,
                    config_revision TEXT NOT NULL,
                    snapshot_path TEXT,
                    annotated_path TEXT,
                    recorded_at TEXT NOT NULL
                );
                CREATE INDEX inspections_captured_at ON inspections(captured_at);
                CREATE INDEX inspections_camera_captured_at ON inspections(camera, captured_at);
                CREATE TABLE defects (
                    id INTEGER PRIMARY KEY,
                    inspection_id INTEGER NOT NULL REFERENCES inspections(id) ON DELETE CASCADE,
                    class_id INTEGER NOT NULL,
                    class_name TEXT NOT NULL,
                    confidence REAL NOT NULL,
                    threshold REAL NOT NULL,
                    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL
                );
                CREATE INDEX defects_inspection_id ON defects(inspection_id);
                CREATE INDEX defects_class_name ON defects(class_name);
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY,
                    event_id TEXT NOT NULL UNIQUE,
                    topic TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    qos INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
                    retained INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL,
                    first_attempt_at TEXT,
                    last_attempt_at TEXT,
                    delivered_at TEXT,
                    inspection_id INTEGER
                );
                CREATE INDEX outbox_pending ON outbox(id) WHERE state = 'pending';
                CREATE INDEX outbox_created_at ON outbox(created_at);
                CREATE TABLE service_events (
                    id INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('start', 'stop', 'config_reload', 'camera_down',
                        'camera_up', 'threshold_change', 'alarm', 'error')),
                    camera TEXT,
                    detail TEXT NOT NULL
                );
                CREATE INDEX service_events_at ON service_events(at);
                CREATE INDEX service_events_kind_at ON service_events(kind, at);
                CREATE TABLE adaptive_state (
                    camera TEXT PRIMARY KEY,
                    state BLOB NOT NULL,
                    updated_at TEXT NOT NULL
                );
                """)
        }
        // v2: frames that could not be judged are recorded too, with verdict ERROR and the reason. SQLite cannot
        // change a CHECK constraint in place: the table is rebuilt (GRDB runs migrations with foreign keys off
        // and checks them at the end, so `defects` keeps pointing at the same ids).
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE inspections_v2 (
                    id INTEGER PRIMARY KEY,
                    camera TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    captured_at TEXT NOT NULL,
                    verdict TEXT NOT NULL CHECK (verdict IN ('OK', 'NG', 'ERROR')),
                    defect_count INTEGER NOT NULL,
                    latency_ms REAL NOT NULL,
                    model_sha256 TEXT NOT NULL,
                    config_revision TEXT NOT NULL,
                    snapshot_path TEXT,
                    annotated_path TEXT,
                    recorded_at TEXT NOT NULL,
                    error TEXT
                );
                INSERT INTO inspections_v2 (id, camera, sequence, captured_at, verdict, defect_count, latency_ms,
                    model_sha256, config_revision, snapshot_path, annotated_path, recorded_at)
                    SELECT id, camera, sequence, captured_at, verdict, defect_count, latency_ms, model_sha256,
                    config_revision, snapshot_path, annotated_path, recorded_at FROM inspections;
                DROP TABLE inspections;
                ALTER TABLE inspections_v2 RENAME TO inspections;
                CREATE INDEX inspections_captured_at ON inspections(captured_at);
                CREATE INDEX inspections_camera_captured_at ON inspections(camera, captured_at);
                """)
        }
        // v3: triggered inspections carry the part they were of (issue: part identity), and an outbox message
        // answering an MQTT v5 request its correlation data. Plain added columns, NULL for every row written
        // before (free-running frames have no part).
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                ALTER TABLE inspections ADD COLUMN part_id TEXT;
                ALTER TABLE inspections ADD COLUMN lot TEXT;
                ALTER TABLE inspections ADD COLUMN order_id TEXT;
                ALTER TABLE inspections ADD COLUMN recipe TEXT;
                ALTER TABLE inspections ADD COLUMN part_meta TEXT;
                ALTER TABLE inspections ADD COLUMN trigger_id TEXT;
                ALTER TABLE inspections ADD COLUMN trigger_source TEXT;
                CREATE INDEX inspections_part_id ON inspections(part_id) WHERE part_id IS NOT NULL;
                ALTER TABLE outbox ADD COLUMN correlation_data BLOB;
                """)
        }
        return migrator
    }

    /// The adaptive-threshold state the daemon saved for `camera` (opaque JSON), or nil if none yet.
    public func loadAdaptiveState(camera: String) throws -> Data? {
        try pool.read { db in
            try Data.fetchOne(db, sql: "SELECT state FROM adaptive_state WHERE camera = ?", arguments: [camera])
        }
    }

    /// Undelivered outbox messages (the delivery backlog).
    public func pendingCount() throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE state = 'pending'") ?? 0
        }
    }
}

/// Why the audit database could not be opened.
public enum AuditStoreError: Error, CustomStringConvertible {
    /// No file at the path.
    case missingDatabase(String)
    /// The file is SQLite but has no inspectd tables.
    case notAnAuditDatabase(String)

    /// One line naming the file and the problem.
    public var description: String {
        switch self {
        case .missingDatabase(let p): return "audit database \(p): no such file"
        case .notAnAuditDatabase(let p): return "audit database \(p): not an inspectd audit database (no inspections/outbox tables)"
        }
    }
}
