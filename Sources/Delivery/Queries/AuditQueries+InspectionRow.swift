import Foundation
import GRDB

extension AuditQueries {
    /// One recorded inspection with its defects, as the audit database keeps it.
    public struct InspectionRow: Sendable, Codable, Equatable {
        /// `inspections.id`.
        public var id: Int64
        /// Camera id.
        public var camera: String
        /// Frame sequence.
        public var sequence: Int64
        /// Capture time (UTC).
        public var capturedAt: Date
        /// `OK`, `NG` or `ERROR`.
        public var verdict: String
        /// Defects that passed their thresholds.
        public var defectCount: Int
        /// Capture → verdict.
        public var latencyMs: Double
        /// Model file's SHA-256.
        public var modelSha256: String
        /// Config revision in force.
        public var configRevision: String
        /// Evidence JPEG as saved (it may since have been deleted to stay under the snapshot cap).
        public var snapshotPath: String?
        /// Annotated copy as saved.
        public var annotatedPath: String?
        /// Why an `ERROR` frame was not judged.
        public var error: String?
        /// Its defects, in recording order.
        public var defects: [DefectRecord]
        /// The part a trigger named, with the trigger's source (triggered inspections only).
        public var part: PartFields?

        /// The columns `init(row:)` reads, from `inspections i`.
        static let columns = """
            i.id, i.camera, i.sequence, i.captured_at, i.captured_at AS captured_text, i.verdict, i.defect_count,
            i.latency_ms, i.model_sha256, i.config_revision, i.snapshot_path, i.annotated_path, i.error,
            i.part_id, i.lot, i.order_id, i.recipe, i.part_meta, i.trigger_id, i.trigger_source
            """

        init(row: Row) {
            id = row["id"]; camera = row["camera"]; sequence = row["sequence"]; capturedAt = row["captured_at"]
            verdict = row["verdict"]; defectCount = row["defect_count"]; latencyMs = row["latency_ms"]
            modelSha256 = row["model_sha256"]; configRevision = row["config_revision"]
            snapshotPath = row["snapshot_path"]; annotatedPath = row["annotated_path"]; error = row["error"]
            defects = []
            if let partID: String = row["part_id"] {
                part = PartFields(partID: partID, lot: row["lot"], order: row["order_id"], recipe: row["recipe"],
                                  meta: row["part_meta"], triggerID: row["trigger_id"], source: row["trigger_source"] ?? "")
            }
        }

        /// `rows` with their defects, read in one query.
        static func withDefects(_ rows: [InspectionRow], _ db: Database) throws -> [InspectionRow] {
            guard !rows.isEmpty else { return rows }
            var byID: [Int64: [DefectRecord]] = [:]
            let ids = rows.map(\.id)
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            for r in try Row.fetchAll(db, sql: """
                SELECT inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2 FROM defects
                WHERE inspection_id IN (\(marks)) ORDER BY id
                """, arguments: StatementArguments(ids)) {
                byID[r[0], default: []].append(DefectRecord(classID: r[1], className: r[2], confidence: r[3],
                                                            threshold: r[4], x1: r[5], y1: r[6], x2: r[7], y2: r[8]))
            }
            return rows.map { var r = $0; r.defects = byID[r.id] ?? []; return r }
        }
    }
}
