import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest
@testable import Daemon

/// A full disk under the audit database: the station keeps inspecting, holds the records in memory, reports
/// the problem (health failing, `inspectd_audit_writable` 0), writes them when space returns, and a stop while
/// the disk is full returns within its deadline naming how many records stayed unwritten. The file system is a
/// real 4 MiB tmpfs filled on purpose (needs root to mount).
final class StorageFailureTests: XCTestCase {
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
            let out = try? TestProcess.run("sqlite3", ["-readonly", db, "SELECT count(*) FROM inspections"]).output
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
