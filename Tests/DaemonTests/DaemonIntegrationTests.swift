import Foundation
import TestSupport
import XCTest

/// The daemon binary end to end: a replay camera of DeepPCB val images, a real mosquitto broker, a test
/// NOTIFY_SOCKET. READY=1, defects delivered, SIGHUP applies a new threshold, SIGTERM drains cleanly; NG frames
/// get an annotated snapshot, and a synthetic camera's ground-truth score is printed at shutdown.
final class DaemonIntegrationTests: XCTestCase {
    func testDaemonRunsReloadsAndDrains() throws {
        let root = TestProcess.repositoryRoot
        let valDir = TestProcess.shared + "/datasets/deeppcb/images/val"
        let images = try XCTUnwrap(try? FileManager.default.contentsOfDirectory(atPath: valDir)
            .filter { $0.hasSuffix(".jpg") }.sorted().prefix(4).map { valDir + "/" + $0 },
            "DeepPCB val images missing at \(valDir) (set INSPECTD_SHARED)")
        XCTAssertEqual(images.count, 4, "need 4 DeepPCB val images in \(valDir)")
        let model = root.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: model), "default model missing: \(model)")
        let binary = try TestProcess.inspectdBinary()

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try images.joined(separator: "\n").write(to: dir.appendingPathComponent("images.txt"), atomically: true, encoding: .utf8)

        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let subscriber = try MosquittoSubscriber(broker: broker, topic: "inspect/it/s1/#", clientID: "it-sub", directory: dir)
        defer { subscriber.stop() }

        let configFile = dir.appendingPathComponent("inspectd.yaml")
        func writeConfig(confidence: Double) throws {
            try """
            site: {line: it, station: s1}
            model: {path: \(model)}
            workers: {count: 2}
            cameras:
              - id: cam1
                source: {type: replay, list: images.txt, fps: 4, loop: true}
              - id: cam2
                source: {type: synthetic, fps: 1, defects_per_frame: [3, 4], seed: 5}
            detection: {confidence: \(confidence)}
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: inspectd-it}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {dir: state/snapshots}
            metrics: {listen: "127.0.0.1:0"}
            stats_interval: 2s
            shutdown_timeout: 20s
            """.write(to: configFile, atomically: true, encoding: .utf8)
        }
        try writeConfig(confidence: 0.25)
        XCTAssertEqual(try TestProcess.run(binary, ["check-config", configFile.path]).status, 0)

        let notify = try NotifySocket(abstract: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configFile.path]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env.removeValue(forKey: "WATCHDOG_USEC")
        process.environment = env
        let log = dir.appendingPathComponent("daemon.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = process.standardError
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        func daemonLog() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        XCTAssertNotNil(notify.waitFor("READY=1", timeout: 120), "no READY=1; log:\n\(daemonLog())")

        // Defects arrive under the first threshold.
        func defects(_ messages: [MosquittoSubscriber.Message]) -> [[String: Any]] {
            messages.filter { $0.topic == "inspect/it/s1/cam1/defects" }
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any] }
        }
        func thresholds(_ payload: [String: Any]) -> [Double] {
            ((payload["defects"] as? [[String: Any]]) ?? []).compactMap { $0["threshold"] as? Double }
        }
        let first = subscriber.wait(timeout: 120) { !defects($0).isEmpty }
        let firstDefects = try XCTUnwrap(defects(first).first, "no defects message; log:\n\(daemonLog())")
        XCTAssertEqual(thresholds(firstDefects).first, 0.25)

        // SIGHUP with a new threshold: RELOADING=1 then READY=1, and defects judged with 0.5.
        try writeConfig(confidence: 0.5)
        kill(process.processIdentifier, SIGHUP)
        let reload = notify.waitFor("READY=1", timeout: 60)
        XCTAssertTrue(reload?.contains { $0.hasPrefix("RELOADING=1") } ?? false, "no RELOADING=1: \(reload ?? [])")
        let after = subscriber.wait(timeout: 120) { m in defects(m).contains { thresholds($0).contains(0.5) } }
        XCTAssertTrue(defects(after).contains { p in thresholds(p).allSatisfy { $0 == 0.5 } && !thresholds(p).isEmpty },
                      "new threshold not applied; log:\n\(daemonLog())")

        // SIGHUP with a broken file: rejected, the running config stays, an error event is recorded.
        try "site: {line: it}\n".write(to: configFile, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        XCTAssertNotNil(notify.waitFor("READY=1", timeout: 30), "no READY=1 after a rejected reload")
        XCTAssertTrue(process.isRunning, "a bad reload must not stop the daemon; log:\n\(daemonLog())")
        XCTAssertTrue(daemonLog().contains("reload rejected, keeping the running config"), daemonLog())

        // SIGTERM: STOPPING=1, exit 0, every processed frame in the database, `offline` published.
        kill(process.processIdentifier, SIGTERM)
        XCTAssertNotNil(notify.waitFor("STOPPING=1", timeout: 10))
        let exited = Date(timeIntervalSinceNow: 30)
        while process.isRunning && Date() < exited { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(process.isRunning, "daemon still running 30 s after SIGTERM")
        XCTAssertEqual(process.terminationStatus, 0, "log:\n\(daemonLog())")

        let db = dir.appendingPathComponent("state/audit.db").path
        func query(_ sql: String) throws -> String {
            try TestProcess.run("sqlite3", ["-readonly", "-cmd", ".timeout 10000", db, sql]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let range = try query("SELECT count(*) || ' ' || min(sequence) || ' ' || max(sequence) FROM inspections WHERE camera = 'cam1'")
            .split(separator: " ").compactMap { Int($0) }
        XCTAssertEqual(range.count, 3)
        if range.count == 3 { XCTAssertEqual(range[0], range[2] - range[1] + 1, "frames missing from the database: \(range)") }
        XCTAssertEqual(try query("SELECT detail FROM service_events WHERE kind = 'stop'"), "clean")
        XCTAssertEqual(try query("SELECT count(*) FROM service_events WHERE kind = 'config_reload'"), "1")
        XCTAssertEqual(try query("SELECT count(*) FROM service_events WHERE kind = 'error'"), "1")
        XCTAssertEqual(try query("PRAGMA integrity_check"), "ok")
        let ngRows = Int(try query("SELECT count(*) FROM inspections WHERE verdict = 'NG' AND camera = 'cam1'")) ?? -1
        // Every NG frame has its evidence and an annotated copy on disk (the snapshot cap is not reached here).
        let snapshots = try query("SELECT snapshot_path || '|' || ifnull(annotated_path, '') FROM inspections WHERE verdict = 'NG'")
            .split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertFalse(snapshots.isEmpty, "no NG frame recorded")
        for pair in snapshots {
            XCTAssertEqual(pair.count, 2)
            XCTAssertTrue(pair.last?.hasSuffix("_annotated.jpg") ?? false, "no annotated snapshot: \(pair)")
            for path in pair { XCTAssertTrue(FileManager.default.fileExists(atPath: path), "missing \(path)") }
            if pair.count == 2 {
                XCTAssertNotEqual(FileManager.default.contents(atPath: pair[0]), FileManager.default.contents(atPath: pair[1]))
            }
        }
        let final = subscriber.wait(timeout: 10) { m in
            m.contains { $0.topic == "inspect/it/s1/status" && $0.payload.contains("\"offline\"") }
                && Set(defects(m).compactMap { $0["sequence"] as? Int }).count >= ngRows
        }
        XCTAssertTrue(final.contains { $0.topic == "inspect/it/s1/status" && $0.payload.contains("\"offline\"") },
                      "offline not published")
        XCTAssertEqual(Set(defects(final).compactMap { $0["sequence"] as? Int }).count, ngRows,
                       "every NG frame's defects message delivered")
        XCTAssertTrue(daemonLog().contains("stopped cleanly"), daemonLog())
        let truthLine = daemonLog().split(separator: "\n").first { $0.contains("cam2 synthetic ground truth: ") && $0.contains(" parts, ") }
        XCTAssertNotNil(truthLine, "no ground-truth summary at shutdown; log:\n\(daemonLog())")
        XCTAssertFalse(truthLine?.contains("found 0/0 ") ?? true, "no injected defect counted: \(truthLine ?? "")")
    }

    func testBadConfigExitsWithCode2AndOneLinePerProblem() throws {
        let binary = try TestProcess.inspectdBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.yaml")
        try """
        site: {line: L, station: S}
        model: {path: missing.onnx}
        cameras:
          - id: cam1
            source: {type: v4l2, device: /dev/video97}
        detection: {confidence: 3, nms: {iuo: 0.4}}
        """.write(to: file, atomically: true, encoding: .utf8)
        for command in [["check-config", file.path], ["run", "--config", file.path]] {
            let r = try TestProcess.run(binary, command, timeout: 30)
            XCTAssertEqual(r.status, 2, r.output)
            let lines = r.output.split(separator: "\n")
            // The missing /dev/video97 is not among them: an unplugged camera is down at run time, not a config error.
            XCTAssertEqual(lines.count, 3, r.output)
            for key in ["model.path:", "detection.confidence:", "detection.nms.iuo:"] {
                XCTAssertTrue(lines.contains { $0.contains(key) }, "\(key) missing in:\n\(r.output)")
            }
        }
    }
}
