import Foundation
import GRDB

extension AuditQueries {
    /// One row of `service_events`.
    public struct ServiceEventRow: Sendable, Equatable {
        /// `service_events.id`.
        public var id: Int64
        /// When (UTC).
        public var at: Date
        /// `start`, `stop`, `config_reload`, `camera_down`, `camera_up`, `threshold_change`, `alarm` or `error`.
        public var kind: String
        /// The camera concerned, if any.
        public var camera: String?
        /// Free text or JSON, as recorded.
        public var detail: String
    }

    /// What the live event feed (`GET /api/v1/events`) reads in one step: inspections with id above
    /// `inspection` and service events with id above `event`, each in id order, at most `limit` of each.
    ///
    /// Ids order the rows as they were committed: one writer inserts them (`AuditWriter`), so a row with a
    /// smaller id is never committed after one with a larger id has been read, and "after id N" misses nothing.
    public func feed(afterInspection inspection: Int64, afterEvent event: Int64, limit: Int) throws
        -> (inspections: [InspectionRow], events: [ServiceEventRow]) {
        try reader.read { db in
            let fetched = try Row.fetchAll(db, sql: """
                SELECT \(InspectionRow.columns) FROM inspections i WHERE i.id > ? ORDER BY i.id LIMIT ?
                """, arguments: [inspection, limit])
            // Defects only for the frames the feed sends in full (NG); OK ones are counted.
            let rows = fetched.map(InspectionRow.init(row:))
            let withDefects = try InspectionRow.withDefects(rows.filter { $0.verdict == "NG" }, db)
            var byID: [Int64: InspectionRow] = [:]
            for r in withDefects { byID[r.id] = r }
            let events = try Row.fetchAll(db, sql: """
                SELECT id, at, kind, camera, detail FROM service_events WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [event, limit]).map {
                ServiceEventRow(id: $0[0], at: $0[1], kind: $0[2], camera: $0[3], detail: $0[4])
            }
            return (rows.map { byID[$0.id] ?? $0 }, events)
        }
    }

    /// The newest ids of `inspections` and `service_events` (0 when a table is empty): where a feed that wants
    /// only what happens from now on starts.
    public func feedHead() throws -> (inspection: Int64, event: Int64) {
        try reader.read { db in
            let i = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM inspections") ?? 0
            let e = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM service_events") ?? 0
            return (i, e)
        }
    }
}
