import Foundation

/// How the ``AuditWriter`` reaches the broker while the audit database cannot be written: the outbox lives in
/// that database, so messages of records held in the spill would otherwise wait for the disk. The
/// ``OutboxPublisher`` implements it; the outbox stays the record of truth (a message sent this way is still
/// inserted into the outbox when its record is written back, as `delivered` if the broker acknowledged it).
protocol DirectRoute: AnyObject, Sendable {
    /// Queues `messages` for publishing from memory. Must not block: the writer calls it with its lock held.
    func publishDirect(_ messages: [OutgoingMessage])

    /// Runs `commit` (the write-back of records whose messages were handed to ``publishDirect(_:)``) with the
    /// publisher paused, passing the ids of those the broker acknowledged; `commit` returns the outbox row of
    /// each message it inserted, and messages still in flight are then tracked under their rows, so none is
    /// sent twice by the outbox pump.
    func settleDirect<T>(_ ids: Set<UUID>, commit: (Set<UUID>) throws -> (T, [UUID: Int64])) rethrows -> T
}
