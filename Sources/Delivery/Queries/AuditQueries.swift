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
        /// The inspection it belongs to (`inspections.id`).
        public var inspectionID: Int64
        /// Its own row id (`defects.id`).
        public var defectID: Int64
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
        /// The part a trigger named (triggered inspections only).
        public var partID: String? = nil

        /// The CSV header of `inspectd audit defects --format csv` and `GET /api/v1/defects?format=csv`.
        public static let csvHeader = "captured_at,camera,sequence,class,confidence,threshold,x1,y1,x2,y2,snapshot,part_id"

        /// This defect as one CSV line (no line end), in the columns of ``csvHeader``.
        public var csvLine: String {
            func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
            func csv(_ s: String) -> String {
                s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                    ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
            let fields = [Timestamp.string(capturedAt), csv(camera), String(sequence), csv(className),
                          fmt(confidence, 4), fmt(threshold, 4)] + box.map { fmt($0, 1) } + [csv(snapshot ?? ""), csv(partID ?? "")]
            return fields.joined(separator: ",")
        }
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
    public func defects(since: Date, until: Date, camera: String? = nil, className: String? = nil, partID: String? = nil,
                        limit: Int = 100_000) throws -> [DefectRow] {
        try defects(Filter(since: since, until: until, camera: camera, className: className, partID: partID), limit: limit).rows
    }

    /// Defects matching `filter`, ordered by their inspection's capture time, inspection and defect, starting
    /// after `cursor`; at most `limit`, with the cursor of the next page when there are more.
    public func defects(_ filter: Filter, after cursor: Cursor? = nil, limit: Int) throws
        -> (rows: [DefectRow], next: Cursor?) {
        try reader.read { db in
            var (conditions, arguments) = filter.conditions(classCondition: "d.class_name = ?")
            if let cursor {
                conditions.append("(i.captured_at, i.id, d.id) > (?, ?, ?)")
                arguments += [cursor.capturedAt, cursor.inspectionID, cursor.defectID ?? Int64.max]
            }
            let sql = """
                SELECT i.captured_at, i.camera, i.sequence, d.class_name, d.confidence, d.threshold,
                       d.x1, d.y1, d.x2, d.y2, i.snapshot_path, i.id, d.id, i.captured_at, i.part_id
                FROM defects d JOIN inspections i ON i.id = d.inspection_id
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY i.captured_at, i.id, d.id LIMIT ?
                """
            arguments += [limit + 1]
            let fetched = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let rows = fetched.prefix(limit).map {
                DefectRow(inspectionID: $0[11], defectID: $0[12], capturedAt: $0[0], camera: $0[1], sequence: $0[2],
                          className: $0[3], confidence: $0[4], threshold: $0[5], box: [$0[6], $0[7], $0[8], $0[9]],
                          snapshot: $0[10], partID: $0[14])
            }
            let next = fetched.count > limit
                ? Cursor(capturedAt: fetched[limit - 1][13], inspectionID: fetched[limit - 1][11],
                         defectID: fetched[limit - 1][12]) : nil
            return (Array(rows), next)
        }
    }

    /// Inspections matching `filter` with their defects, ordered by capture time and id, starting after
    /// `cursor`; at most `limit`, with the cursor of the next page when there are more.
    public func inspections(_ filter: Filter, after cursor: Cursor? = nil, limit: Int) throws
        -> (rows: [InspectionRow], next: Cursor?) {
        try reader.read { db in
            var (conditions, arguments) = filter.conditions(
                classCondition: "EXISTS (SELECT 1 FROM defects d WHERE d.inspection_id = i.id AND d.class_name = ?)")
            if let cursor {
                conditions.append("(i.captured_at, i.id) > (?, ?)")
                arguments += [cursor.capturedAt, cursor.inspectionID]
            }
            let sql = "SELECT \(InspectionRow.columns) FROM inspections i "
                + (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                + " ORDER BY i.captured_at, i.id LIMIT ?"
            arguments += [limit + 1]
            let fetched = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let rows = try InspectionRow.withDefects(fetched.prefix(limit).map(InspectionRow.init(row:)), db)
            let next = fetched.count > limit
                ? Cursor(capturedAt: fetched[limit - 1]["captured_text"], inspectionID: fetched[limit - 1]["id"],
                         defectID: nil) : nil
            return (rows, next)
        }
    }

    /// The inspection `id` with its defects, or nil when there is none (never recorded, or pruned).
    public func inspection(id: Int64) throws -> InspectionRow? {
        try reader.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(InspectionRow.columns) FROM inspections i WHERE i.id = ?",
                                             arguments: [id]) else { return nil }
            return try InspectionRow.withDefects([InspectionRow(row: row)], db).first
        }
    }

    /// When the oldest outbox message not yet acknowledged by the broker was created (nil: none pending).
    public func oldestPending() throws -> Date? {
        try reader.read { db in try Date.fetchOne(db, sql: "SELECT min(created_at) FROM outbox WHERE state = 'pending'") }
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
