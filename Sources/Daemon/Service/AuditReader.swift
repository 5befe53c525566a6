import API
import Delivery
import Foundation
import Synchronization

/// The audit database as the HTTP API reads it: one read-only connection, so a query never blocks the writer
/// (WAL), opened on first use and again when a reload moves `audit.path`. Every failure to read is a 503 naming
/// the file.
final class AuditReader: Sendable {
    private let state = Mutex<(path: String, queries: AuditQueries)?>(nil)

    /// Runs `body` on the database at `path`.
    func read<T>(path: String, _ body: (AuditQueries) throws -> T) throws -> T {
        let queries: AuditQueries = try state.withLock { state in
            if let state, state.path == path { return state.queries }
            do {
                let opened = AuditQueries(reader: try AuditStore.openReadOnly(path: path))
                state = (path, opened)
                return opened
            } catch {
                throw APIError(.serviceUnavailable, "audit_unavailable", "the audit database cannot be read: \(error)",
                               headers: [.retryAfter: "5"])
            }
        }
        do { return try body(queries) } catch let error as APIError { throw error } catch {
            throw APIError(.serviceUnavailable, "audit_unavailable", "audit database \(path): \(error)",
                           headers: [.retryAfter: "5"])
        }
    }
}
