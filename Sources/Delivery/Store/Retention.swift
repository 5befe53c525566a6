import Foundation
import GRDB
import Logging

/// How long audit rows are kept and how large the database may grow.
public struct RetentionPolicy: Sendable, Equatable {
    /// Rows older than this are pruned (inspections with their defects, delivered outbox rows, service events).
    public var maxAge: TimeInterval
    /// When the live data (pages in use) exceeds this, the oldest rows go first, whatever their age.
    public var maxBytes: Int64
    /// Rows deleted per table per step: small, so a step never holds the writer for long.
    public var chunk: Int

    /// Creates a policy.
    public init(maxAge: TimeInterval, maxBytes: Int64, chunk: Int = 500) {
        self.maxAge = maxAge; self.maxBytes = maxBytes; self.chunk = max(1, chunk)
    }
}

/// Pruning run by ``AuditWriter`` between batches: one small transaction per step, so inspections keep flowing.
/// Undelivered (`pending`) outbox rows are never pruned. After a round that deleted rows, the freed pages are
/// returned to the file system (`incremental_vacuum`) and the WAL is truncated (to one frame).
struct Retention {
    let policy: RetentionPolicy
    let logger: Logger
    private var deletedThisRound = 0

    init(policy: RetentionPolicy, logger: Logger) { self.policy = policy; self.logger = logger }

    /// Deletes one chunk; returns true while there is more to delete.
    mutating func step(_ pool: DatabasePool) -> Bool {
        do {
            let deleted = try pool.write { db in try Self.pruneChunk(db, policy: policy, now: Date()) }
            deletedThisRound += deleted
            if deleted > 0 { return true }
            if deletedThisRound > 0 {
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA incremental_vacuum")
                    try db.checkpoint(.truncate)
                    // Leave one frame in the WAL: GRDB opens a pool whose WAL is empty by writing to it, which a
                    // full disk refuses, and a station must still start then (degraded). Rewriting user_version
                    // with its own value dirties only page 1.
                    let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                    try db.execute(sql: "PRAGMA user_version = \(version)")
                }
                logger.info("retention: pruned \(deletedThisRound) rows")
            }
        } catch {
            logger.error("retention step failed (will retry next round): \(error)")
        }
        deletedThisRound = 0
        return false
    }

    /// Deletes up to `policy.chunk` rows per table that are too old, or the oldest rows while over the size cap.
    static func pruneChunk(_ db: Database, policy: RetentionPolicy, now: Date) throws -> Int {
        let cutoff = now.addingTimeInterval(-policy.maxAge)
        var deleted = 0
        func delete(_ sql: String, _ arguments: StatementArguments) throws {
            try db.execute(sql: sql, arguments: arguments)
            deleted += db.changesCount
        }
        try delete("DELETE FROM inspections WHERE id IN (SELECT id FROM inspections WHERE captured_at < ? ORDER BY id LIMIT ?)",
                   [cutoff, policy.chunk])
        try delete("""
            DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'delivered' AND created_at < ?
            ORDER BY id LIMIT ?)
            """, [cutoff, policy.chunk])
        try delete("DELETE FROM service_events WHERE id IN (SELECT id FROM service_events WHERE at < ? ORDER BY id LIMIT ?)",
                   [cutoff, policy.chunk])
        if deleted == 0, try usedBytes(db) > policy.maxBytes {
            try delete("DELETE FROM inspections WHERE id IN (SELECT id FROM inspections ORDER BY id LIMIT ?)", [policy.chunk])
            try delete("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'delivered' ORDER BY id LIMIT ?)",
                       [policy.chunk])
            try delete("DELETE FROM service_events WHERE id IN (SELECT id FROM service_events ORDER BY id LIMIT ?)",
                       [policy.chunk / 10 + 1])
        }
        return deleted
    }

    /// Bytes in pages that hold data (free pages excluded: they are reclaimed by `incremental_vacuum`).
    static func usedBytes(_ db: Database) throws -> Int64 {
        let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
        let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        let size = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        return (pages - free) * size
    }
}
