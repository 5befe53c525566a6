import Foundation
import GRDB

/// The read-only questions `inspectd audit` answers. Every query is one short read transaction, so it never
/// holds back the daemon's WAL checkpoints.
public struct AuditQueries: Sendable {
    /// Frames, NG rate, defects per class and the delivery backlog over a period.
    public struct Summary: Sendable, Codable, Equatable {
        /// Start of the period.
        public var since: Date
        /// Frames judged.
        public var frames: Int
        /// NG frames.
        public var ngFrames: Int
        /// Frames that could not be judged (verdict ERROR: not aligned to the golden image, undecodable).
        public var errorFrames: Int = 0
        /// NG / frames (0 when no frames).
        public var ngRate: Double
        /// Defect count per class name, most frequent first.
        public var defectsPerClass: [ClassCount]
        /// Frames and NG frames per camera.
        public var cameras: [CameraCount]
        /// Outbox messages not yet acknowledged by the broker (all time).
        public var pendingMessages: Int
        /// When the oldest undelivered message was created, if any.
        public var oldestPending: Date?
        /// Messages the broker acknowledged during the period.
        public var deliveredMessages: Int
    }
    /// A class and how many defects it had.
    public struct ClassCount: Sendable, Codable, Equatable {
        /// Class name.
        public var className: String
        /// Defects.
        public var count: Int
    }
    /// A camera's frame counts.
    public struct CameraCount: Sendable, Codable, Equatable {
        /// Camera id.
        public var camera: String
        /// Frames judged.
        public var frames: Int
        /// NG frames.
        public var ngFrames: Int
    }
    /// One defect with its frame.
    public struct DefectRow: Sendable, Codable, Equatable {
        /// Capture time (UTC).
        public var capturedAt: Date
        /// Camera id.
        public var camera: String
        /// Frame sequence.
        public var sequence: Int64
        /// Class name.
        public var className: String
        /// Confidence.
        public var confidence: Double
        /// Threshold in force.
        public var threshold: Double
        /// `[x1, y1, x2, y2]` in source pixels.
        public var box: [Double]
        /// Evidence JPEG, if saved.
        public var snapshot: String?
    }
    /// Database health.
    public struct Verification: Sendable, Codable, Equatable {
        /// `PRAGMA integrity_check` lines (`["ok"]` when healthy).
        public var integrity: [String]
        /// Applied schema migrations.
        public var migrations: [String]
        /// Outbox rows not yet acknowledged.
        public var pending: Int
        /// Outbox rows acknowledged.
        public var delivered: Int
        /// Oldest undelivered message's creation time.
        public var oldestPending: Date?
        /// Most attempts spent on one undelivered message.
        public var maxPendingAttempts: Int
        /// Inspections recorded.
        public var inspections: Int
        /// True when integrity is ok.
        public var ok: Bool { integrity == ["ok"] }
    }

    /// The database read.
    public let reader: any DatabaseReader

    /// Queries `reader` (usually ``AuditStore/openReadOnly(path:)``).
    public init(reader: any DatabaseReader) { self.reader = reader }

    /// Counts since `since`.
    public func summary(since: Date) throws -> Summary {
        try reader.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(verdict = 'NG'), 0), coalesce(sum(verdict = 'ERROR'), 0) FROM inspections
                WHERE captured_at >= ?
                """, arguments: [since])
            let frames: Int = row?[0] ?? 0
            let ng: Int = row?[1] ?? 0
            let errors: Int = row?[2] ?? 0
            let classes = try Row.fetchAll(db, sql: """
                SELECT d.class_name, count(*) AS n FROM defects d JOIN inspections i ON i.id = d.inspection_id
                WHERE i.captured_at >= ? GROUP BY d.class_name ORDER BY n DESC, d.class_name
                """, arguments: [since]).map { ClassCount(className: $0[0], count: $0[1]) }
            let cameras = try Row.fetchAll(db, sql: """
                SELECT camera, count(*), sum(verdict = 'NG') FROM inspections WHERE captured_at >= ?
                GROUP BY camera ORDER BY camera
                """, arguments: [since]).map { CameraCount(camera: $0[0], frames: $0[1], ngFrames: $0[2]) }
            let pending = try Row.fetchOne(db, sql: """
                SELECT count(*), min(created_at) FROM outbox WHERE state = 'pending'
                """)
            let delivered = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox WHERE state = 'delivered' AND delivered_at >= ?
                """, arguments: [since]) ?? 0
            return Summary(since: since, frames: frames, ngFrames: ng, errorFrames: errors,
                           ngRate: frames == 0 ? 0 : Double(ng) / Double(frames), defectsPerClass: classes,
                           cameras: cameras, pendingMessages: pending?[0] ?? 0, oldestPending: pending?[1],
                           deliveredMessages: delivered)
        }
    }

    /// Defects between `since` and `until`, optionally of one camera and/or class, oldest first.
    public func defects(since: Date, until: Date, camera: String? = nil, className: String? = nil,
                        limit: Int = 100_000) throws -> [DefectRow] {
        try reader.read { db in
            var sql = """
                SELECT i.captured_at, i.camera, i.sequence, d.class_name, d.confidence, d.threshold,
                       d.x1, d.y1, d.x2, d.y2, i.snapshot_path
                FROM defects d JOIN inspections i ON i.id = d.inspection_id
                WHERE i.captured_at >= ? AND i.captured_at < ?
                """
            var arguments: StatementArguments = [since, until]
            if let camera { sql += " AND i.camera = ?"; arguments += [camera] }
            if let className { sql += " AND d.class_name = ?"; arguments += [className] }
            sql += " ORDER BY i.captured_at, i.id, d.id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                DefectRow(capturedAt: $0[0], camera: $0[1], sequence: $0[2], className: $0[3], confidence: $0[4],
                          threshold: $0[5], box: [$0[6], $0[7], $0[8], $0[9]], snapshot: $0[10])
            }
        }
    }

    /// Integrity check and outbox state.
    public func verify() throws -> Verification {
        try reader.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            let migrations = (try? String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")) ?? []
            let row = try Row.fetchOne(db, sql: """
                SELECT coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'delivered'), 0),
                       min(CASE WHEN state = 'pending' THEN created_at END),
                       coalesce(max(CASE WHEN state = 'pending' THEN attempts END), 0)
                FROM outbox
                """)
            let inspections = try Int.fetchOne(db, sql: "SELECT count(*) FROM inspections") ?? 0
            return Verification(integrity: integrity, migrations: migrations, pending: row?[0] ?? 0,
                                delivered: row?[1] ?? 0, oldestPending: row?[2], maxPendingAttempts: row?[3] ?? 0,
                                inspections: inspections)
        }
    }
}
