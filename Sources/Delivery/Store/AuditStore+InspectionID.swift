import Foundation
import GRDB

extension AuditStore {
    /// The row id (the audit id) of the latest inspection of `camera` with `sequence` captured at `captureTime`
    /// (to the millisecond, as stored), or nil when there is none (not committed yet, or pruned).
    public func inspectionID(camera: String, sequence: UInt64, captureTime: Date) throws -> Int64? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT id FROM inspections WHERE camera = ? AND sequence = ? AND captured_at = ? ORDER BY id DESC LIMIT 1
                """, arguments: [camera, Int64(bitPattern: sequence), Timestamp.sqlite(captureTime)])
        }
    }
}
