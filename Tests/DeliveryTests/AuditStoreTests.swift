import Foundation
import TestSupport
import GRDB
import XCTest
@testable import Delivery

final class AuditStoreTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("store") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func openStore() throws -> AuditStore { try AuditStore(path: dir.appendingPathComponent("audit.sqlite").path) }

    func testSynchronousNormalIsApplied() throws {
        let store = try AuditStore(path: dir.appendingPathComponent("normal.sqlite").path, synchronous: .normal)
        try store.pool.write { db in XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA synchronous"), 1) }
    }

    func testNewFileHasIncrementalVacuumWALAndSchema() throws {
        let store = try openStore()
        try store.pool.read { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA auto_vacuum"), 2, "auto_vacuum must be INCREMENTAL")
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
            for table in ["inspections", "defects", "outbox", "service_events", "adaptive_state"] {
                XCTAssertTrue(try db.tableExists(table), table)
            }
            XCTAssertTrue(try db.indexes(on: "outbox").contains { $0.name == "outbox_pending" })
        }
        // On the writer: GRDB's WAL set-up switches its writer to NORMAL after our own set-up ran.
        try store.pool.write { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA synchronous"), 2, "synchronous must be FULL by default")
        }
        // Reopening an existing file migrates nothing new and keeps the data.
        let writer = AuditWriter(store: store); writer.start()
        writer.submit(Fixtures.inspection(sequence: 1)); writer.stop()
        let again = try openStore()
        XCTAssertEqual(try again.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM inspections") }, 1)
    }

    func testInspectionDefectsAndMessagesCommitTogether() throws {
        let store = try openStore()
        let writer = AuditWriter(store: store)
        writer.start()
        let r = Fixtures.inspection(sequence: 42, defects: 2, snapshot: "/snap/a.jpg")
        let m = Fixtures.factory.defects(for: r)
        writer.submit(r, messages: [m])
        writer.submit(Fixtures.inspection(sequence: 43, defects: 0))
        XCTAssertTrue(writer.flush(timeout: 10))
        try store.pool.read { db in
            let row = try XCTUnwrap(Row.fetchOne(db, sql: "SELECT * FROM inspections WHERE sequence = 42"))
            XCTAssertEqual(row["verdict"] as String, "NG")
            XCTAssertEqual(row["defect_count"] as Int, 2)
            XCTAssertEqual(row["snapshot_path"] as String?, "/snap/a.jpg")
            XCTAssertEqual(row["model_sha256"] as String, Fixtures.sha)
            let id: Int64 = row["id"]
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM defects WHERE inspection_id = ?", arguments: [id]), 2)
            let out = try XCTUnwrap(Row.fetchOne(db, sql: "SELECT * FROM outbox"))
            XCTAssertEqual(out["event_id"] as String, m.eventID.uuidString.lowercased())
            XCTAssertEqual(out["state"] as String, "pending")
            XCTAssertEqual(out["inspection_id"] as Int64?, id)
            XCTAssertEqual(out["topic"] as String, "inspect/L1/S2/cam1/defects")
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT verdict FROM inspections WHERE sequence = 43"), "OK")
        }
        writer.stop()
    }

    /// A triggered part's record is committed at once, not at the end of the batch interval: its result message
    /// waits in the outbox for that commit while a PLC gateway or MES waits for the result.
    func testUrgentRecordIsCommittedWithoutWaitingForTheBatchInterval() throws {
        let store = try openStore()
        let writer = AuditWriter(store: store, settings: .init(maxDelay: 600))
        writer.start()
        defer { writer.stop() }
        let count = { try store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM inspections") } ?? 0 }
        writer.submit(Fixtures.inspection(sequence: 1))
        writer.submit(Fixtures.inspection(sequence: 2), urgent: true)
        // Hang guard only: without the urgency the batch would wait 600 s.
        let limit = Date().addingTimeInterval(60)
        while try count() < 2 && Date() < limit { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(try count(), 2, "the urgent record and the one batched before it are committed together")
        writer.submit(Fixtures.inspection(sequence: 3))
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(try count(), 2, "an ordinary record waits for its batch again")
    }

    func testFullQueueBlocksSubmitterAndDropsNothing() throws {
        let store = try openStore()
        let writer = AuditWriter(store: store, settings: .init(maxBatch: 3, maxDelay: 0.001, capacity: 2))
        writer.start()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in 0..<250 { writer.submit(Fixtures.inspection(camera: "cam\(t)", sequence: UInt64(i))) }
        }
        XCTAssertTrue(writer.flush(timeout: 30))
        XCTAssertEqual(try store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM inspections") }, 1000)
        XCTAssertEqual(try store.pool.read { try Int.fetchOne($0, sql: "SELECT count(DISTINCT camera || sequence) FROM inspections") }, 1000)
        writer.stop()
    }

    func testRetentionPrunesOldRowsButNeverPendingOutbox() throws {
        let store = try openStore()
        let writer = AuditWriter(store: store)
        writer.start()
        let old = Date().addingTimeInterval(-10 * 86400)
        for i in 0..<1200 {
            let r = Fixtures.inspection(sequence: UInt64(i), at: old)
            writer.submit(r, messages: [Fixtures.factory.defects(for: r)])
        }
        writer.submit(Fixtures.inspection(sequence: 5000), messages: [])
        writer.submit(event: ServiceEvent(.start, at: old, detail: "boot"))
        XCTAssertTrue(writer.flush(timeout: 30))
        // Half of the old messages were delivered (and created long ago).
        try store.pool.write { db in
            try db.execute(sql: "UPDATE outbox SET state = 'delivered', delivered_at = ?, created_at = ? WHERE id % 2 = 0",
                           arguments: [old, old])
        }
        var retention = Retention(policy: RetentionPolicy(maxAge: 86400, maxBytes: 1 << 40, chunk: 100), logger: .init(label: "t"))
        var steps = 0
        while retention.step(store.pool) { steps += 1; XCTAssertLessThan(steps, 1000) }
        XCTAssertGreaterThan(steps, 10, "pruning must go in small chunks")
        try store.pool.read { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM inspections"), 1)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM defects"), 1)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE state = 'pending'"), 600)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE state = 'delivered'"), 0)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM service_events"), 0)
        }
        writer.stop()
    }

    func testSizeCapPrunesOldestFirst() throws {
        let store = try openStore()
        let writer = AuditWriter(store: store)
        writer.start()
        for i in 0..<3000 { writer.submit(Fixtures.inspection(sequence: UInt64(i), defects: 3)) }
        XCTAssertTrue(writer.flush(timeout: 30))
        let before = try store.pool.read { try Retention.usedBytes($0) }
        var retention = Retention(policy: RetentionPolicy(maxAge: 365 * 86400, maxBytes: before / 2, chunk: 200),
                                  logger: .init(label: "t"))
        while retention.step(store.pool) {}
        let after = try store.pool.read { try Retention.usedBytes($0) }
        XCTAssertLessThanOrEqual(after, before / 2)
        let oldest = try store.pool.read { try Int.fetchOne($0, sql: "SELECT min(sequence) FROM inspections") }
        let newest = try store.pool.read { try Int.fetchOne($0, sql: "SELECT max(sequence) FROM inspections") }
        XCTAssertGreaterThan(oldest ?? 0, 0, "oldest inspections go first")
        XCTAssertEqual(newest, 2999, "newest inspections stay")
        writer.stop()
    }

    func testAdaptiveStateAndServiceEvents() throws {
        let store = try openStore()
        let writer = AuditWriter(store: store)
        writer.start()
        writer.saveAdaptiveState(camera: "cam1", state: Data(#"{"short":[0.1]}"#.utf8))
        writer.saveAdaptiveState(camera: "cam1", state: Data(#"{"short":[0.2]}"#.utf8))
        writer.submit(event: ServiceEvent(.cameraDown, camera: "cam1", detail: "ENODEV"),
                      messages: [Fixtures.factory.cameraStatus(camera: "cam1", up: false, reason: "ENODEV")])
        XCTAssertTrue(writer.flush(timeout: 10))
        XCTAssertEqual(try store.loadAdaptiveState(camera: "cam1"), Data(#"{"short":[0.2]}"#.utf8))
        XCTAssertNil(try store.loadAdaptiveState(camera: "cam9"))
        XCTAssertEqual(try store.pool.read { try String.fetchOne($0, sql: "SELECT kind FROM service_events") }, "camera_down")
        XCTAssertEqual(try store.pendingCount(), 1)
        writer.stop()
    }

    func testReadOnlyQueriesWhileWriting() throws {
        let store = try openStore()
        let writer = AuditWriter(store: store)
        writer.start()
        for i in 0..<100 {
            let r = Fixtures.inspection(camera: i % 2 == 0 ? "a" : "b", sequence: UInt64(i), defects: i % 4 == 0 ? 0 : 2)
            writer.submit(r, messages: r.isNG ? [Fixtures.factory.defects(for: r)] : [])
        }
        XCTAssertTrue(writer.flush(timeout: 10))
        let queries = AuditQueries(reader: try AuditStore.openReadOnly(path: store.path))
        // More writes while the read-only connection is open.
        for i in 100..<110 { writer.submit(Fixtures.inspection(camera: "a", sequence: UInt64(i), defects: 0)) }
        XCTAssertTrue(writer.flush(timeout: 10))
        let s = try queries.summary(since: Date().addingTimeInterval(-3600))
        XCTAssertEqual(s.frames, 110)
        XCTAssertEqual(s.ngFrames, 75)
        XCTAssertEqual(s.defectsPerClass.map(\.count).reduce(0, +), 150)
        XCTAssertEqual(s.pendingMessages, 75)
        let shorts = try queries.defects(since: .distantPast, until: Date().addingTimeInterval(1), camera: "b", className: "open")
        XCTAssertEqual(shorts.count, 50)
        XCTAssertEqual(shorts.first?.box, [10.5, 20, 110.25, 220])
        let v = try queries.verify()
        XCTAssertTrue(v.ok)
        XCTAssertEqual(v.pending, 75)
        XCTAssertEqual(v.migrations, ["v1", "v2", "v3"])
        XCTAssertThrowsError(try AuditStore.openReadOnly(path: dir.appendingPathComponent("none.sqlite").path))
        writer.stop()
    }

    /// SQLite's memory stays near its limit however many readers scan however much of the database: with the
    /// default 2 MiB page cache per connection, five readers scanning 10 MB would hold about 10 MiB.
    func testSQLiteMemoryStaysBoundedWhileReadersScanALargeDatabase() throws {
        var store: AuditStore? = try openStore()
        try store!.pool.write { db in
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
                INSERT INTO inspections (camera, sequence, captured_at, verdict, defect_count, latency_ms, model_sha256,
                                         config_revision, snapshot_path, recorded_at)
                SELECT 'cam-' || (i % 4), i, strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || i || ' seconds'),
                       CASE WHEN i % 5 = 0 THEN 'NG' ELSE 'OK' END, i % 3, 12.5,
                       hex(randomblob(32)), 'rev', 'snapshots/' || hex(randomblob(16)) || '.jpg',
                       strftime('%Y-%m-%d %H:%M:%f', 'now') FROM n
                """)
        }
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: store!.path)[.size] as? Int)
            + ((try? FileManager.default.attributesOfItem(atPath: store!.path + "-wal")[.size] as? Int) ?? 0)
        XCTAssertGreaterThan(size, 3 * AuditStore.memoryLimitBytes, "the database must be larger than the limit")
        let path = store!.path
        store = nil
        /// Five readers open at once (the pool's default maximum: each its own connection and page cache), each
        /// scanning the table and an index.
        func scan(_ pool: DatabasePool) {
            let arrived = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0), done = DispatchGroup()
            for k in 0..<5 {
                done.enter()
                Thread.detachNewThread {
                    defer { done.leave() }
                    do {
                        try pool.read { db in
                            arrived.signal(); go.wait()
                            _ = try Int.fetchOne(db, sql: "SELECT sum(length(model_sha256) + length(snapshot_path)) FROM inspections WHERE camera != ?",
                                                 arguments: ["cam-\(k)"])
                            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM inspections WHERE captured_at > '2000' AND verdict = 'NG'")
                        }
                    } catch { XCTFail("read \(k): \(error)") }
                }
            }
            for _ in 0..<5 { arrived.wait() }
            for _ in 0..<5 { go.signal() }
            done.wait()
        }
        // Without the limit, as SQLite comes: the same scans hold well over it (so this test can fail).
        var plain: DatabasePool? = try DatabasePool(path: path)
        try plain!.write { _ = try Int.fetchOne($0, sql: "PRAGMA soft_heap_limit = 0") }
        scan(plain!)
        let unbounded = AuditStore.memoryUsedBytes
        XCTAssertGreaterThan(unbounded, Int64(AuditStore.memoryLimitBytes) + (2 << 20), "without the limit SQLite held \(unbounded >> 10) KiB")
        plain = nil
        // The audit store's pool: near the limit.
        let bounded = try AuditStore(path: path)
        scan(bounded.pool)
        let used = AuditStore.memoryUsedBytes
        print("SQLite's memory after five concurrent scans of \(size >> 10) KiB: \(unbounded >> 10) KiB without the limit, \(used >> 10) KiB with it")
        XCTAssertLessThanOrEqual(used, Int64(AuditStore.memoryLimitBytes) + (1 << 20),
                                 "SQLite holds \(used >> 10) KiB, limit \(AuditStore.memoryLimitBytes >> 10) KiB (\(unbounded >> 10) KiB without it)")
    }
}

/// Schema v2: frames that could not be judged are on record with verdict ERROR and their reason.
final class AuditStoreErrorVerdictTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("store-v2") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testVersion1DatabaseMigratesKeepingRowsAndDefects() throws {
        let path = dir.appendingPathComponent("audit.sqlite").path
        do {  // a database as version 1 left it, with one NG inspection and its defect
            let queue = try DatabaseQueue(path: path)
            try AuditStore.migrator.migrate(queue, upTo: "v1")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO inspections (id, camera, sequence, captured_at, verdict, defect_count, latency_ms,
                        model_sha256, config_revision, recorded_at) VALUES (7, 'cam1', 3, '2026-01-01 00:00:00.000', 'NG', 1,
                        12.5, 'abc', 'r1', '2026-01-01 00:00:00.100');
                    INSERT INTO defects (inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2)
                        VALUES (7, 1, 'short', 0.9, 0.5, 1, 2, 3, 4);
                    """)
            }
        }
        let store = try AuditStore(path: path)
        let writer = AuditWriter(store: store); writer.start()
        var failed = Fixtures.inspection(sequence: 4, defects: 0)
        failed.error = "not aligned to the reference: shift 31.0 px beyond max_shift 20 px"
        writer.submit(failed)
        XCTAssertTrue(writer.flush(timeout: 10))
        writer.stop()
        try store.pool.read { db in
            let old = try XCTUnwrap(Row.fetchOne(db, sql: "SELECT * FROM inspections WHERE id = 7"))
            XCTAssertEqual(old["verdict"] as String, "NG")
            XCTAssertNil(old["error"] as String?)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM defects WHERE inspection_id = 7"), 1)
            let row = try XCTUnwrap(Row.fetchOne(db, sql: "SELECT * FROM inspections WHERE sequence = 4"))
            XCTAssertEqual(row["verdict"] as String, "ERROR")
            XCTAssertEqual(row["error"] as String?, failed.error)
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA foreign_key_check"), nil)
            XCTAssertTrue(try db.indexes(on: "inspections").contains { $0.name == "inspections_camera_captured_at" })
        }
        XCTAssertThrowsError(try store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO inspections (camera, sequence, captured_at, verdict, defect_count, latency_ms, model_sha256,
                    config_revision, recorded_at) VALUES ('c', 1, 'x', 'MAYBE', 0, 0, 's', 'r', 'x')
                """)
        }, "the verdict stays constrained")
    }

    /// A database written by the release before part identity (schema v2) gains the part columns in place: old
    /// rows keep everything and have no part; new triggered rows carry theirs and are found by part id.
    func testVersion2DatabaseGainsPartColumnsInPlace() throws {
        let path = dir.appendingPathComponent("audit.sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try AuditStore.migrator.migrate(queue, upTo: "v2")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO inspections (id, camera, sequence, captured_at, verdict, defect_count, latency_ms,
                        model_sha256, config_revision, recorded_at) VALUES (7, 'cam1', 3, '2026-01-01 00:00:00.000', 'NG', 1,
                        12.5, 'abc', 'r1', '2026-01-01 00:00:00.100');
                    INSERT INTO defects (inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2)
                        VALUES (7, 1, 'short', 0.9, 0.5, 1, 2, 3, 4);
                    """)
            }
        }
        let store = try AuditStore(path: path)
        let writer = AuditWriter(store: store); writer.start()
        var triggered = Fixtures.inspection(sequence: 9, defects: 2)
        triggered.part = PartFields(partID: "PCB-42", lot: "L1", order: "PO-7", recipe: "top", meta: #"{"k":1}"#,
                                    triggerID: "t-9", source: "modbus")
        writer.submit(triggered)
        XCTAssertTrue(writer.flush(timeout: 10))
        writer.stop()
        try store.pool.read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"), ["v1", "v2", "v3"])
            let old = try XCTUnwrap(Row.fetchOne(db, sql: "SELECT * FROM inspections WHERE id = 7"))
            XCTAssertEqual(old["verdict"] as String, "NG")
            XCTAssertNil(old["part_id"] as String?)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM defects WHERE inspection_id = 7"), 1)
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA foreign_key_check"), nil)
        }
        let queries = AuditQueries(reader: store.pool)
        let found = try queries.inspections(.init(partID: "PCB-42"), limit: 10).rows
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found.first?.part, triggered.part)
        let defects = try queries.defects(.init(partID: "PCB-42"), limit: 10).rows
        XCTAssertEqual(defects.count, 2)
        XCTAssertTrue(defects.allSatisfy { $0.csvLine.hasSuffix(",PCB-42") }, defects.map(\.csvLine).joined(separator: "\n"))
        XCTAssertEqual(try queries.inspections(.init(partID: "nope"), limit: 10).rows.count, 0)
    }

    func testErrorPayloadNamesTheReasonAndMatchesTheSchema() throws {
        var r = Fixtures.inspection(sequence: 9, defects: 0)
        r.error = "frame is a truncated JPEG"
        XCTAssertEqual(r.verdict, "ERROR")
        let m = Fixtures.factory.defects(for: r)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: m.payload) as? [String: Any])
        XCTAssertEqual(json["verdict"] as? String, "ERROR")
        XCTAssertEqual(json["error"] as? String, "frame is a truncated JPEG")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertEqual(try decoder.decode(DefectsPayload.self, from: m.payload).error, r.error)
        XCTAssertEqual(try SchemaValidator.problems([String(decoding: m.payload, as: UTF8.self)]), [])
    }
}
