import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest
@testable import Daemon
@testable import Delivery

/// A full disk under the audit database: the station keeps inspecting, holds the records in memory, reports
/// the problem (health failing, `inspectd_audit_writable` 0), writes them when space returns, and a stop while
/// the disk is full returns within its deadline naming how many records stayed unwritten. The file system is a
/// real 4 MiB tmpfs filled on purpose (needs root to mount). With a broker: the `storage` alarm goes out and
/// inspections keep being published while the database is down, each exactly once. With a spill file: what does
/// not fit in memory is written back in order, also across a stop. A start on a full disk is degraded.
final class StorageFailureTests: XCTestCase {
    /// A 4 MiB tmpfs at `dir/state` (unmounted when `dir` goes), with `fill`/`free` of its space.
    private struct SmallDisk {
        let state: URL
        var filler: String { state.appendingPathComponent("filler").path }
        func fill() {
            // dd ends with "No space left on device": that is the point.
            _ = try? TestProcess.run("dd", ["if=/dev/zero", "of=\(filler)", "bs=16k"], timeout: 60)
        }
        func free() { try? FileManager.default.removeItem(atPath: filler) }
        func unmount() { _ = try? TestProcess.run("umount", ["-l", state.path]) }
    }

    private func mountSmallDisk(_ dir: URL) throws -> SmallDisk? {
        let state = dir.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let mount = try TestProcess.run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", state.path])
        XCTAssertEqual(mount.status, 0, "cannot mount a tmpfs: \(mount.output)")
        return mount.status == 0 ? SmallDisk(state: state) : nil
    }

    /// Polls for up to `seconds` (a generous limit, not a timing assertion).
    private func eventually(_ seconds: Double = 120, _ condition: () -> Bool) -> Bool {
        let limit = Date().addingTimeInterval(seconds)
        while Date() < limit { if condition() { return true }; Thread.sleep(forTimeInterval: 0.2) }
        return condition()
    }

    private func sqlite(_ db: String, _ sql: String) -> String {
        ((try? TestProcess.run("sqlite3", ["-readonly", "-cmd", ".timeout 10000", db, sql]).output) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func eventID(_ payload: String) -> String? {
        guard let data = payload.data(using: .utf8),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return json["event_id"] as? String
    }

    private static func alarmKinds(_ messages: [MosquittoSubscriber.Message]) -> [String] {
        messages.filter { $0.topic.hasSuffix("/alarms") }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any])?["kind"] as? String
        }
    }

    /// The database goes down under a running pipeline with a broker: the `storage` alarm is published (from
    /// memory: the outbox is in that database), inspections keep reaching the broker, `storage_recovered`
    /// follows when space returns, and in the end every inspection is on record and on the broker exactly once
    /// by event id, with no outbox row left pending (those sent from memory entered it as delivered).
    func testWhileTheDatabaseIsDownAlarmsAndInspectionsArePublishedExactlyOnce() throws {
        try XCTSkipUnless(geteuid() == 0, "mounting a tmpfs needs root")
        let dir = try TestProcess.temporaryDirectory("inspectd-storage-mqtt")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let disk = try mountSmallDisk(dir) else { return }
        defer { disk.unmount() }
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let subscriber = try MosquittoSubscriber(broker: broker, topic: "inspect/st/s1/#", clientID: "storage-sub", directory: dir)
        defer { subscriber.stop() }

        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        let config = try InspectdConfig.parse(yaml: """
            site: {line: st, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: c1
                source: {type: synthetic, width: 320, height: 320, fps: 5, defects_per_frame: [0, 2]}
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: inspectd-storage, publish_ok: true}
            audit: {path: state/audit.db, batch_interval: 50ms, spill_path: spill/audit.spill}
            snapshots: {enabled: false}
            metrics: {enabled: false}
            """, file: dir.appendingPathComponent("inspectd.yaml").path, baseDirectory: dir.path, revision: "r1")
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30))
        let pipeline = try Pipeline(config: config, metrics: metrics, health: health, logger: Logger(label: "test.storage.mqtt"))
        pipeline.start()
        let db = disk.state.appendingPathComponent("audit.db").path
        func defects() -> [MosquittoSubscriber.Message] { subscriber.messages.filter { $0.topic.hasSuffix("/defects") } }

        subscriber.wait(timeout: 120) { $0.filter { $0.topic.hasSuffix("/defects") }.count >= 3 }
        XCTAssertGreaterThanOrEqual(defects().count, 3, "no inspection published before the failure")
        disk.fill()
        XCTAssertTrue(eventually { health.storageProblem != nil }, "a full disk was not noticed")
        XCTAssertEqual(health.report().status, "failing")
        let alarmed = subscriber.wait(timeout: 120) { Self.alarmKinds($0).contains("storage") }
        XCTAssertTrue(Self.alarmKinds(alarmed).contains("storage"), "no storage alarm on MQTT:\n\(subscriber.log.suffix(2000))")
        let atFailure = defects().count
        XCTAssertTrue(eventually { defects().count >= atFailure + 5 }, "inspections stopped reaching the broker with the database down")
        XCTAssertNotNil(health.storageProblem, "the disk recovered by itself; the test proves nothing")

        disk.free()
        XCTAssertTrue(eventually { health.storageProblem == nil }, "the writer did not recover")
        let recovered = subscriber.wait(timeout: 120) { Self.alarmKinds($0).contains("storage_recovered") }
        XCTAssertTrue(Self.alarmKinds(recovered).contains("storage_recovered"), "no storage_recovered alarm")
        XCTAssertTrue(pipeline.stop(timeout: .seconds(30)))
        XCTAssertEqual(pipeline.unwrittenAtStop, 0)

        // Every inspection on record is on the broker exactly once, and nothing is left to send.
        XCTAssertEqual(sqlite(db, "SELECT count(*) FROM outbox WHERE state = 'pending' AND topic LIKE '%/defects'"), "0",
                       "defects messages left pending")
        let recorded = Set(sqlite(db, "SELECT o.event_id FROM outbox o JOIN inspections i ON i.id = o.inspection_id WHERE o.topic LIKE '%/defects'")
            .split(separator: "\n").map(String.init))
        let inspections = Int(sqlite(db, "SELECT count(*) FROM inspections")) ?? -1
        XCTAssertEqual(recorded.count, inspections, "an inspection without its defects message in the outbox")
        let received = defects().compactMap { Self.eventID($0.payload) }
        XCTAssertEqual(received.count, Set(received).count, "duplicates on the broker: \(received.count - Set(received).count)")
        XCTAssertEqual(Set(received), recorded, "received \(received.count), recorded \(recorded.count); missing \(recorded.subtracting(received).count), unknown \(Set(received).subtracting(recorded).count)")
        XCTAssertEqual(sqlite(db, "SELECT count(*) FROM service_events WHERE kind = 'alarm' AND detail LIKE '%storage%'"), "2",
                       "the storage alarms are not on record")
    }

    /// The writer alone, memory limited to 16 records: what does not fit goes to the spill file, is written back
    /// in submission order when space returns, and a stop with the disk full keeps what is left in the spill
    /// (stop reports nothing lost) for the next writer to write back, again in order.
    func testTheSpillFileKeepsOrderAndSurvivesAStop() throws {
        try XCTSkipUnless(geteuid() == 0, "mounting a tmpfs needs root")
        let dir = try TestProcess.temporaryDirectory("inspectd-storage-spill")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let disk = try mountSmallDisk(dir) else { return }
        defer { disk.unmount() }
        let db = disk.state.appendingPathComponent("audit.db").path
        let spillPath = dir.appendingPathComponent("audit.spill").path
        let settings = AuditWriter.Settings(maxBatch: 8, maxDelay: 0.02, capacity: 16, spillPath: spillPath,
                                            spillMaxBytes: 64 << 20)
        var sequence: UInt64 = 0
        func record() -> InspectionRecord {
            sequence += 1
            return InspectionRecord(camera: "c1", sequence: sequence, captureTime: Date(), latencyMillis: 1,
                                    modelName: "m", modelSHA256: String(repeating: "ab", count: 32),
                                    configRevision: "r", defects: [DefectRecord(classID: 1, className: "short",
                                    confidence: 0.9, threshold: 0.5, x1: 1, y1: 2, x2: 3, y2: 4)],
                                    snapshotPath: String(repeating: "p", count: 200))
        }
        func sequences() -> [Int] {
            sqlite(db, "SELECT sequence FROM inspections ORDER BY id").split(separator: "\n").compactMap { Int($0) }
        }

        var writer = AuditWriter(store: try AuditStore(path: db), settings: settings)
        writer.start()
        for _ in 0..<20 { writer.submit(record()) }
        XCTAssertTrue(writer.flush(timeout: 60))
        disk.fill()
        XCTAssertTrue(eventually { writer.submit(record()); Thread.sleep(forTimeInterval: 0.01); return writer.failure != nil },
                      "a full disk was not noticed")
        for _ in 0..<300 { writer.submit(record()) }
        XCTAssertGreaterThan(writer.spilled, 0, "nothing went to the spill file with memory full")
        XCTAssertEqual(writer.lost, 0)
        disk.free()
        XCTAssertTrue(writer.flush(timeout: 120), "the spill was not written back")
        XCTAssertEqual(writer.spilled, 0)
        XCTAssertEqual(sequences(), Array(1...Int(sequence)), "records missing or out of order after the write-back")

        // Full again, then stop: everything left goes to the spill file, and the next writer writes it back.
        disk.fill()
        XCTAssertTrue(eventually { writer.submit(record()); Thread.sleep(forTimeInterval: 0.01); return writer.failure != nil },
                      "the second full disk was not noticed")
        for _ in 0..<100 { writer.submit(record()) }
        XCTAssertEqual(writer.stop(timeout: 2), 0, "records lost at stop although the spill file had room")
        XCTAssertTrue(FileManager.default.fileExists(atPath: spillPath) || FileManager.default.fileExists(atPath: spillPath + ".writeback"))
        disk.free()
        writer = AuditWriter(store: try AuditStore(path: db), settings: settings)
        XCTAssertGreaterThan(writer.spilled, 0, "the new writer does not see the spill left by the stop")
        writer.start()
        XCTAssertTrue(writer.flush(timeout: 120), "the spill of the earlier run was not written back")
        XCTAssertEqual(sequences(), Array(1...Int(sequence)), "records missing or out of order after a stop with the disk full")
        XCTAssertFalse(FileManager.default.fileExists(atPath: spillPath + ".writeback"))
        XCTAssertEqual(writer.stop(timeout: 10), 0)
    }

    /// A service started on a full disk (an existing database it cannot write) says degraded: systemd's status
    /// text and `/healthz` name the problem instead of ready and fine.
    func testAStartOnAFullDiskIsDegraded() throws {
        try XCTSkipUnless(geteuid() == 0, "mounting a tmpfs needs root")
        let dir = try TestProcess.temporaryDirectory("inspectd-storage-start")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let disk = try mountSmallDisk(dir) else { return }
        defer { disk.unmount() }
        let db = disk.state.appendingPathComponent("audit.db").path
        do {  // an earlier run whose retention pruned rows (and truncated the WAL), stopped cleanly
            let store = try AuditStore(path: db)
            let writer = AuditWriter(store: store)
            writer.start()
            writer.submit(event: ServiceEvent(.start, at: Date().addingTimeInterval(-10 * 86400), detail: "old run"))
            writer.submit(event: ServiceEvent(.start, detail: "earlier run"))
            XCTAssertEqual(writer.stop(timeout: 10), 0)
            // The round the writer runs between batches: it prunes, vacuums and truncates the WAL.
            var retention = Retention(policy: RetentionPolicy(maxAge: 86400, maxBytes: 1 << 40), logger: Logger(label: "test"))
            while retention.step(store.pool) {}
            XCTAssertEqual(try store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM service_events") }, 1,
                           "retention did not prune the old event")
            try store.pool.close()
        }
        // SQLite's default would delete both at the last close, and retention's truncation would leave an empty
        // WAL, which GRDB writes to at open: either way the start below could not open the database.
        for file in [db + "-wal", db + "-shm"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: file), "\(file) was removed at the last close")
        }
        let walBytes = (try? FileManager.default.attributesOfItem(atPath: db + "-wal")[.size] as? Int) ?? 0
        XCTAssertGreaterThan(walBytes, 0, "the WAL was left empty")
        disk.fill()

        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        let file = dir.appendingPathComponent("inspectd.yaml")
        try """
            site: {line: st, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: c1
                source: {type: synthetic, width: 320, height: 320, fps: 5, defects_per_frame: 1}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            metrics: {listen: "127.0.0.1:0"}
            shutdown_timeout: 5s
            """.write(to: file, atomically: true, encoding: .utf8)
        let notify = try NotifySocket(abstract: true)
        let service = InspectionService(configPath: file.path, environment: ["NOTIFY_SOCKET": notify.path],
                                        logger: Logger(label: "test.storage.start"))
        let exited = DispatchSemaphore(value: 0)
        Thread.detachNewThread { _ = service.run(errors: { print("service: \($0)") }); exited.signal() }
        let hasExited = { if exited.wait(timeout: .now()) == .success { exited.signal(); return true }; return false }
        let seen = notify.waitFor("READY=1", timeout: 120, givingUp: hasExited) ?? []
        let ready = seen.first { $0.contains("READY=1") } ?? ""
        XCTAssertFalse(hasExited(), "the service exited instead of starting degraded")
        XCTAssertTrue(ready.contains("STATUS=degraded: audit database not writable"), "READY without degraded status: \(seen)")
        XCTAssertNotNil(service.health.storageProblem)
        if let port = service.metricsPort {
            let (status, body) = try httpGet(port: port, path: "/healthz")
            XCTAssertEqual(status, 503, body)
            XCTAssertTrue(body.contains("audit database not writable"), body)
        } else {
            XCTFail("no metrics server")
        }
        service.requestStop()
        XCTAssertEqual(exited.wait(timeout: .now() + 120), .success, "the service did not stop")
        disk.free()
    }

    func testAFullDiskIsReportedRecoveredFromAndCountedAtStop() throws {
        try XCTSkipUnless(geteuid() == 0, "mounting a tmpfs needs root")
        let dir = try TestProcess.temporaryDirectory("inspectd-storage")
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let mount = try TestProcess.run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", state.path])
        XCTAssertEqual(mount.status, 0, "cannot mount a tmpfs: \(mount.output)")
        guard mount.status == 0 else { return }
        defer { _ = try? TestProcess.run("umount", ["-l", state.path]) }

        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        let config = try InspectdConfig.parse(yaml: """
            site: {line: st, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: c1
                source: {type: synthetic, width: 320, height: 320, fps: 5, defects_per_frame: [1, 2]}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            metrics: {enabled: false}
            """, file: dir.appendingPathComponent("inspectd.yaml").path, baseDirectory: dir.path, revision: "r1")
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(30))
        let pipeline = try Pipeline(config: config, metrics: metrics, health: health, logger: Logger(label: "test.storage"))
        pipeline.start()
        let db = state.appendingPathComponent("audit.db").path
        func rows() -> Int {
            let out = try? TestProcess.run("sqlite3", ["-readonly", "-cmd", ".timeout 10000", db, "SELECT count(*) FROM inspections"]).output
            return Int(out?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
        }
        /// Polls for up to `seconds` (a generous limit, not a timing assertion).
        func eventually(_ seconds: Double = 120, _ condition: () -> Bool) -> Bool {
            let limit = Date().addingTimeInterval(seconds)
            while Date() < limit { if condition() { return true }; Thread.sleep(forTimeInterval: 0.2) }
            return condition()
        }
        let filler = state.appendingPathComponent("filler").path
        func fill() {
            // dd ends with "No space left on device": that is the point.
            _ = try? TestProcess.run("dd", ["if=/dev/zero", "of=\(filler)", "bs=16k"], timeout: 60)
        }

        XCTAssertTrue(eventually { pipeline.flushAudit(timeout: 5); return rows() >= 2 }, "nothing recorded")
        XCTAssertEqual(health.report().status, "ok", "\(health.report().problems)")

        // Disk full: reported, and inspection goes on.
        fill()
        XCTAssertTrue(eventually { health.storageProblem != nil }, "a full disk was not noticed")
        XCTAssertEqual(health.report().status, "failing")
        XCTAssertTrue(health.report().problems.contains { $0.hasPrefix("audit database not writable") }, "\(health.report().problems)")
        XCTAssertTrue(metrics.exposition().contains("inspectd_audit_writable 0"), metrics.exposition())
        let processed = health.report().framesProcessed
        XCTAssertTrue(eventually { health.report().framesProcessed >= processed + 5 }, "inspection stopped with the disk full")

        // Space again: what was held is written.
        let held = health.report().framesProcessed
        try FileManager.default.removeItem(atPath: filler)
        XCTAssertTrue(eventually { health.storageProblem == nil }, "the writer did not recover")
        XCTAssertTrue(pipeline.flushAudit(timeout: 60))
        XCTAssertGreaterThanOrEqual(rows(), Int(held), "records held during the failure were not written back")
        XCTAssertTrue(metrics.exposition().contains("inspectd_audit_writable 1"), metrics.exposition())

        // Full again, then stop: it returns, and names what stayed unwritten.
        fill()
        XCTAssertTrue(eventually { health.storageProblem != nil }, "the second full disk was not noticed")
        let stopped = Mutex<Bool?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { stopped.withLock { $0 = pipeline.stop(timeout: .seconds(5)) }; done.signal() }
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "stop did not return with the disk full")
        XCTAssertGreaterThan(pipeline.unwrittenAtStop, 0, "records left in memory at stop were not counted")
        try? FileManager.default.removeItem(atPath: filler)
    }

    /// The daemon's service on the same kind of full disk: a SIGTERM-style stop exits 1, not 0 "stopped cleanly".
    func testAStopWithTheDiskFullExitsNonZero() throws {
        try XCTSkipUnless(geteuid() == 0, "mounting a tmpfs needs root")
        let dir = try TestProcess.temporaryDirectory("inspectd-storage-service")
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let mount = try TestProcess.run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", state.path])
        XCTAssertEqual(mount.status, 0, "cannot mount a tmpfs: \(mount.output)")
        guard mount.status == 0 else { return }
        defer { _ = try? TestProcess.run("umount", ["-l", state.path]) }
        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        let file = dir.appendingPathComponent("inspectd.yaml")
        try """
            site: {line: st, station: s1}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: c1
                source: {type: synthetic, width: 320, height: 320, fps: 5, defects_per_frame: 1}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            metrics: {enabled: false}
            shutdown_timeout: 5s
            """.write(to: file, atomically: true, encoding: .utf8)
        let service = InspectionService(configPath: file.path, environment: [:], logger: Logger(label: "test.storage.service"))
        let code = Mutex<Int32?>(nil)
        let exited = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let c = service.run(errors: { print("service: \($0)") })
            code.withLock { $0 = c }
            exited.signal()
        }
        func eventually(_ seconds: Double = 120, _ condition: () -> Bool) -> Bool {
            let limit = Date().addingTimeInterval(seconds)
            while Date() < limit && code.withLock({ $0 }) == nil { if condition() { return true }; Thread.sleep(forTimeInterval: 0.2) }
            return condition()
        }
        XCTAssertTrue(eventually { service.health.report().framesProcessed >= 2 }, "the service inspected nothing")
        _ = try? TestProcess.run("dd", ["if=/dev/zero", "of=\(state.path)/filler", "bs=16k"], timeout: 60)
        XCTAssertTrue(eventually { service.health.storageProblem != nil }, "a full disk was not noticed")
        service.requestStop()
        XCTAssertEqual(exited.wait(timeout: .now() + 120), .success, "the service did not stop")
        XCTAssertEqual(code.withLock { $0 }, 1, "a stop that left records unwritten must not exit 0")
    }
}
