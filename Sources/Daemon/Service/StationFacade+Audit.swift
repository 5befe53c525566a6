import Synchronization
import API
import Delivery
import Foundation

/// The read side of the audit database for the HTTP API: `AuditQueries` through a read-only connection, its
/// rows turned into the API's documents.
extension StationFacade {
    public func inspections(_ query: RecordQuery) throws -> InspectionPage {
        let cursor = try Self.cursor(query, defects: false)
        let page = try readAudit { try $0.inspections(Self.filter(query), after: cursor, limit: query.limit) }
        return InspectionPage(inspections: page.rows.map(Self.document), next: page.next?.token)
    }

    public func inspection(id: Int64) throws -> InspectionDocument {
        guard let row = try readAudit({ try $0.inspection(id: id) }) else { throw Self.unknown(id) }
        return Self.document(row)
    }

    public func snapshot(inspection id: Int64, annotated: Bool) throws -> Data {
        guard let row = try readAudit({ try $0.inspection(id: id) }) else { throw Self.unknown(id) }
        guard let path = annotated ? row.annotatedPath : row.snapshotPath else {
            throw APIError(.notFound, "no_snapshot", annotated
                ? "inspection \(id) (\(row.verdict)) has no annotated snapshot: they are saved for NG frames when snapshots.annotated is on"
                : "inspection \(id) (\(row.verdict)) has no snapshot: snapshots are saved for NG frames when snapshots.enabled is on")
        }
        guard let jpeg = FileManager.default.contents(atPath: path) else {
            throw APIError(.notFound, "snapshot_deleted",
                           "the snapshot of inspection \(id) (\(path)) is gone: the oldest are deleted to stay under snapshots.cap_mb")
        }
        return jpeg
    }

    public func defects(_ query: RecordQuery) throws -> DefectPage {
        let cursor = try Self.cursor(query, defects: true)
        let page = try readAudit { try $0.defects(Self.filter(query), after: cursor, limit: query.limit) }
        return DefectPage(defects: page.rows.map { r in
            DefectDocument(inspectionId: r.inspectionID, capturedAt: Timestamp.string(r.capturedAt), camera: r.camera,
                           sequence: r.sequence, className: r.className, confidence: r.confidence,
                           threshold: r.threshold, box: r.box, hasSnapshot: Self.exists(r.snapshot))
                .with(partID: r.partID)
        }, next: page.next?.token)
    }

    public func defectsCSV(_ query: RecordQuery, header: Bool) throws -> (text: String, rows: Int, next: String?) {
        let cursor = try Self.cursor(query, defects: true)
        let page = try readAudit { try $0.defects(Self.filter(query), after: cursor, limit: query.limit) }
        var text = header ? AuditQueries.DefectRow.csvHeader + "\n" : ""
        for row in page.rows { text += row.csvLine + "\n" }
        return (text, page.rows.count, page.next?.token)
    }

    /// Seconds since the oldest outbox message not yet acknowledged was created (nil: none waits, or the
    /// database cannot be read now).
    func oldestPendingAge() -> Double? {
        guard let oldest = try? readAudit({ try $0.oldestPending() }) else { return nil }
        return max(0, Date().timeIntervalSince(oldest))
    }

    /// The snapshot directory's JPEGs, summed (what `SnapshotStore` keeps under `snapshots.cap_mb`).
    static func snapshotUse(_ config: SnapshotConfig) -> StatusDocument.Snapshots {
        StatusDocument.Snapshots(enabled: config.enabled, path: config.directory, bytes: SnapshotDiskUse.shared.bytes(in: config.directory),
                                 capBytes: config.capMB << 20)
    }

    private func readAudit<T>(_ body: (AuditQueries) throws -> T) throws -> T {
        guard let path = auditPath else {
            throw APIError(.serviceUnavailable, "starting", "the station is starting", headers: [.retryAfter: "1"])
        }
        return try auditReader.read(path: path, body)
    }

    private static func filter(_ q: RecordQuery) -> AuditQueries.Filter {
        AuditQueries.Filter(since: q.since, until: q.until, camera: q.camera, verdict: q.verdict, className: q.className,
                            partID: q.partID)
    }

    /// The query's cursor, which must come from the same listing (a defect cursor names a defect).
    private static func cursor(_ q: RecordQuery, defects: Bool) throws -> AuditQueries.Cursor? {
        guard let token = q.cursor else { return nil }
        guard let cursor = AuditQueries.Cursor(token: token), (cursor.defectID != nil) == defects else {
            throw APIError(.badRequest, "bad_request", "cursor: '\(token.prefix(80))' is not a cursor of this listing; "
                           + "pass the `next` of the previous page as it came")
        }
        return cursor
    }

    private static func unknown(_ id: Int64) -> APIError {
        APIError(.notFound, "unknown_inspection", "no inspection \(id) on record (never recorded, or pruned by audit.retention_days)")
    }

    private static func exists(_ path: String?) -> Bool { path.map { FileManager.default.fileExists(atPath: $0) } ?? false }

    private static func document(_ r: AuditQueries.InspectionRow) -> InspectionDocument {
        InspectionDocument(
            id: r.id, camera: r.camera, sequence: r.sequence, capturedAt: Timestamp.string(r.capturedAt),
            verdict: r.verdict, defectCount: r.defectCount, latencyMs: r.latencyMs, modelSha256: r.modelSha256,
            configRevision: r.configRevision, error: r.error,
            defects: r.defects.map { d in
                InspectionDocument.Defect(classID: d.classID, className: d.className, confidence: d.confidence,
                                          threshold: d.threshold, box: [d.x1, d.y1, d.x2, d.y2])
            },
            hasSnapshot: exists(r.snapshotPath), hasAnnotated: exists(r.annotatedPath))
            .with(part: r.part)
    }
}

extension DefectDocument {
    /// The document with the part id of a triggered inspection.
    func with(partID: String?) -> DefectDocument { var d = self; d.partId = partID; return d }
}

extension InspectionDocument {
    /// The document with the part fields of a triggered inspection.
    func with(part: PartFields?) -> InspectionDocument {
        guard let part else { return self }
        var d = self
        d.partId = part.partID; d.lot = part.lot; d.order = part.order; d.recipe = part.recipe
        d.triggerId = part.triggerID; d.triggerSource = part.source
        return d
    }
}

/// The snapshot directory's JPEG bytes, walked at most every 30 s: `GET /api/v1/status` (the station page asks every
/// 2 s) walking a directory of thousands of snapshots each time cost an open page about 2% of the pipeline's CPU.
final class SnapshotDiskUse: Sendable {
    static let shared = SnapshotDiskUse()
    private static let maxAge: Duration = .seconds(30)
    private let cache = Mutex<(directory: String, at: ContinuousClock.Instant, bytes: Int)?>(nil)

    func bytes(in directory: String) -> Int {
        let now = ContinuousClock.now
        if let c = cache.withLock({ $0 }), c.directory == directory, now - c.at < Self.maxAge { return c.bytes }
        let keys: Set<URLResourceKey> = [.fileSizeKey, .isRegularFileKey]
        let files = (try? FileManager.default.contentsOfDirectory(
            at: URL(fileURLWithPath: directory, isDirectory: true), includingPropertiesForKeys: Array(keys))) ?? []
        let bytes = files.filter { $0.pathExtension == "jpg" }.reduce(0) { sum, url in
            let values = try? url.resourceValues(forKeys: keys)
            return sum + (values?.isRegularFile == true ? values?.fileSize ?? 0 : 0)
        }
        cache.withLock { $0 = (directory, now, bytes) }
        return bytes
    }
}
