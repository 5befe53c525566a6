import API
import Daemon
import Delivery
import Foundation
import Imaging
import TestSupport
import XCTest

/// `/api/v1/inspections`, `/api/v1/inspections/{id}`, its `snapshot.jpg` and `/api/v1/defects` against a running
/// daemon (a replay camera of DeepPCB val images, a synthetic camera that judges everything OK, a real mosquitto
/// broker): paging and filters agree with `sqlite3` on the same database, CSV is byte for byte what
/// `inspectd audit defects --format csv` prints, snapshots are the frames' JPEGs, bad parameters are 400s.
final class InspectionsAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-inspections") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testInspectionsDefectsAndSnapshotsAgreeWithTheAuditDatabase() throws {
        let valDir = TestProcess.shared + "/datasets/deeppcb/images/val"
        let images = ((try? FileManager.default.contentsOfDirectory(atPath: valDir)) ?? [])
            .filter { $0.hasSuffix(".jpg") }.sorted().prefix(4).map { valDir + "/" + $0 }
        XCTAssertEqual(images.count, 4, "need 4 DeepPCB val images in \(valDir) (set INSPECTD_SHARED)")
        guard images.count == 4 else { return }
        try images.joined(separator: "\n").write(to: dir.appendingPathComponent("images.txt"), atomically: true, encoding: .utf8)
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1, threads_per_worker: 1}
            cameras:
              - id: cam1
                source: {type: replay, list: images.txt, fps: 4, loop: true}
              - id: cam2
                source: {type: synthetic, width: 320, height: 320, fps: 2, defects_per_frame: 0, seed: 3}
                thresholds: {confidence: 1.0}
            detection: {confidence: 0.25}
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: inspectd-api-inspections}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {dir: state/snapshots, annotated: true}
            http: {listen: "127.0.0.1:0"}
            shutdown_timeout: 20s
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client
        let db = dir.appendingPathComponent("state/audit.db").path
        func sql(_ query: String) throws -> [String] {
            let (status, output) = try TestProcess.run("sqlite3", [db, query])
            XCTAssertEqual(status, 0, output)
            return output.split(separator: "\n").map(String.init)
        }

        // A fixed period: until a whole second in the near future, waited for (hang guard) until both cameras
        // recorded a frame captured after it. Each camera records in capture order, so the period is complete
        // and nothing more will land in it.
        let until = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 8).rounded(.up))
        let untilText = Timestamp.string(until), untilSQL = Timestamp.sqlite(until)
        XCTAssertTrue(try daemon.wait {
            try sql("SELECT count(DISTINCT camera) FROM inspections WHERE captured_at >= '\(untilSQL)'") == ["2"]
        }, "the cameras did not record frames after \(untilText)")
        let period = "captured_at < '\(untilSQL)'"
        let ids = try sql("SELECT id FROM inspections WHERE \(period) ORDER BY captured_at, id")
        let ng = try sql("SELECT id FROM inspections WHERE \(period) AND verdict = 'NG' ORDER BY captured_at, id")
        XCTAssertGreaterThanOrEqual(ids.count, 10, "too few inspections to page through")
        XCTAssertGreaterThanOrEqual(ng.count, 2, "no NG frames from the DeepPCB images")

        /// Every page of `path` (limit 4), following `next`; the ids in order.
        func pagedIDs(_ path: String) throws -> [String] {
            var all: [String] = [], cursor: String?, pages = 0
            repeat {
                let answer = try http.get(path + "&limit=4" + (cursor.map { "&cursor=\($0)" } ?? ""))
                XCTAssertEqual(answer.status, 200, answer.text)
                let items = try XCTUnwrap(answer.object?["inspections"] as? [[String: Any]], answer.text)
                XCTAssertLessThanOrEqual(items.count, 4)
                all += items.map { String($0["id"] as? Int ?? -1) }
                cursor = answer.object?["next"] as? String
                pages += 1
            } while cursor != nil && pages < 1000
            return all
        }
        XCTAssertEqual(try pagedIDs("/api/v1/inspections?until=\(untilText)"), ids)
        XCTAssertEqual(try pagedIDs("/api/v1/inspections?until=\(untilText)&verdict=ng"), ng)
        XCTAssertEqual(try pagedIDs("/api/v1/inspections?until=\(untilText)&camera=cam2"),
                       try sql("SELECT id FROM inspections WHERE \(period) AND camera = 'cam2' ORDER BY captured_at, id"))
        let since = try XCTUnwrap(try sql("SELECT captured_at FROM inspections WHERE \(period) ORDER BY captured_at, id").dropFirst(3).first)
        let sinceText = since.replacingOccurrences(of: " ", with: "T") + "Z"
        XCTAssertEqual(try pagedIDs("/api/v1/inspections?since=\(sinceText)&until=\(untilText)"),
                       try sql("SELECT id FROM inspections WHERE \(period) AND captured_at >= '\(since)' ORDER BY captured_at, id"))
        let className = try XCTUnwrap(try sql("SELECT class_name FROM defects ORDER BY id LIMIT 1").first)
        XCTAssertEqual(try pagedIDs("/api/v1/inspections?until=\(untilText)&class=\(className)"), try sql("""
            SELECT id FROM inspections i WHERE \(period) AND EXISTS (SELECT 1 FROM defects d WHERE d.inspection_id = i.id
            AND d.class_name = '\(className)') ORDER BY captured_at, id
            """))

        // One NG inspection in full, against its rows.
        let ngID = ng[0]
        let one = try http.get("/api/v1/inspections/\(ngID)")
        XCTAssertEqual(one.status, 200, one.text)
        let doc = try XCTUnwrap(one.object)
        let row = try XCTUnwrap(try sql("SELECT camera || '|' || sequence || '|' || verdict || '|' || defect_count || '|' || model_sha256 FROM inspections WHERE id = \(ngID)").first)
        XCTAssertEqual(["camera", "sequence", "verdict", "defect_count", "model_sha256"].map { "\(doc[$0] ?? "nil")" }.joined(separator: "|"), row)
        let defects = try XCTUnwrap(doc["defects"] as? [[String: Any]])
        XCTAssertEqual(defects.map { "\($0["class"] ?? "")|" + String(format: "%.4f|%.4f", $0["threshold"] as? Double ?? -1, $0["confidence"] as? Double ?? -1) },
                       try sql("SELECT class_name || '|' || printf('%.4f|%.4f', threshold, confidence) FROM defects WHERE inspection_id = \(ngID) ORDER BY id"))
        XCTAssertEqual(Set((doc["thresholds"] as? [[String: Any]] ?? []).compactMap { $0["class"] as? String }),
                       Set(defects.compactMap { $0["class"] as? String }))
        XCTAssertEqual(doc["snapshot"] as? String, "/api/v1/inspections/\(ngID)/snapshot.jpg")
        XCTAssertEqual(doc["annotated_snapshot"] as? String, "/api/v1/inspections/\(ngID)/snapshot.jpg?annotated=1")

        // Its snapshots: JPEGs of the frame's size; the annotated one is another picture of the same size.
        let decoder = try JPEGDecoder()
        func size(_ data: Data) throws -> String {
            let s = try data.withUnsafeBytes { try decoder.header($0) }
            return "\(s.width)x\(s.height)"
        }
        let frameSize = try size(try Data(contentsOf: URL(fileURLWithPath: images[0])))
        let plain = try http.get("/api/v1/inspections/\(ngID)/snapshot.jpg")
        XCTAssertEqual(plain.status, 200, plain.text)
        XCTAssertEqual(plain.contentType, "image/jpeg")
        XCTAssertEqual(try size(plain.body), frameSize)
        let saved = try XCTUnwrap(try sql("SELECT snapshot_path FROM inspections WHERE id = \(ngID)").first)
        XCTAssertEqual(plain.body, try Data(contentsOf: URL(fileURLWithPath: saved)))
        let annotated = try http.get("/api/v1/inspections/\(ngID)/snapshot.jpg?annotated=1")
        XCTAssertEqual(annotated.status, 200, annotated.text)
        XCTAssertEqual(try size(annotated.body), frameSize)
        XCTAssertNotEqual(annotated.body, plain.body)
        // An OK frame keeps no snapshot: 404 JSON, no link.
        let okID = try XCTUnwrap(try sql("SELECT id FROM inspections WHERE verdict = 'OK' LIMIT 1").first, "no OK frame from cam2")
        XCTAssertNil(try http.get("/api/v1/inspections/\(okID)").object?["snapshot"])
        let none = try http.get("/api/v1/inspections/\(okID)/snapshot.jpg")
        XCTAssertEqual(none.status, 404); XCTAssertEqual(none.object?["error"] as? String, "no_snapshot", none.text)
        for path in ["/api/v1/inspections/999999999", "/api/v1/inspections/999999999/snapshot.jpg"] {
            let unknown = try http.get(path)
            XCTAssertEqual(unknown.status, 404, path)
            XCTAssertEqual(unknown.object?["error"] as? String, "unknown_inspection", unknown.text)
        }

        // Defects as CSV: byte for byte what `inspectd audit defects --format csv` prints for the same period and
        // filters; the header first, one line per defect.
        let cli = try TestProcess.inspectdBinary()
        let cliUntil = String(untilText.prefix(19)) + "Z"
        for filter in ["", "&camera=cam1", "&class=\(className)"] {
            let csv = try http.get("/api/v1/defects?format=csv&since=2000-01-01T00:00:00Z&until=\(untilText)\(filter)")
            XCTAssertEqual(csv.status, 200, csv.text)
            XCTAssertEqual(csv.contentType, "text/csv; charset=utf-8")
            var args = ["audit", "--db", db, "defects", "--format", "csv", "--since", "2000-01-01T00:00:00Z", "--until", cliUntil]
            if filter.hasPrefix("&camera=") { args += ["--camera", "cam1"] }
            if filter.hasPrefix("&class=") { args += ["--class", className] }
            let expected = try TestProcess.run(cli, args)
            XCTAssertEqual(expected.status, 0, expected.output)
            XCTAssertEqual(csv.text, expected.output, "API CSV differs from the CLI's for \(filter)")
        }
        let csvLines = try http.get("/api/v1/defects?format=csv&until=\(untilText)").text.split(separator: "\n")
        XCTAssertEqual(csvLines.first, "captured_at,camera,sequence,class,confidence,threshold,x1,y1,x2,y2,snapshot,part_id")
        let defectIDs = try sql("SELECT d.inspection_id FROM defects d JOIN inspections i ON i.id = d.inspection_id WHERE i.\(period) ORDER BY i.captured_at, i.id, d.id")
        XCTAssertEqual(csvLines.count - 1, defectIDs.count)
        let limited = try http.get("/api/v1/defects?format=csv&until=\(untilText)&limit=2").text.split(separator: "\n")
        XCTAssertEqual(limited, Array(csvLines.prefix(3)))
        // ... and as JSON pages, the same defects in the same order.
        var paged: [String] = [], cursor: String?
        repeat {
            let page = try http.get("/api/v1/defects?until=\(untilText)&limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
            XCTAssertEqual(page.status, 200, page.text)
            paged += ((page.object?["defects"] as? [[String: Any]]) ?? []).map { String($0["inspection_id"] as? Int ?? -1) }
            cursor = page.object?["next"] as? String
        } while cursor != nil && paged.count <= defectIDs.count
        XCTAssertEqual(paged, defectIDs)

        // Bad values: 400 JSON naming the parameter.
        let inspectionCursor = try XCTUnwrap(try http.get("/api/v1/inspections?limit=1").object?["next"] as? String)
        for (path, parameter) in [("/api/v1/inspections?since=yesterday", "since"),
                                  ("/api/v1/inspections?until=2026-13-01T00:00:00Z", "until"),
                                  ("/api/v1/inspections?since=\(untilText)&until=2000-01-01T00:00:00Z", "since"),
                                  ("/api/v1/inspections?verdict=MAYBE", "verdict"),
                                  ("/api/v1/inspections?limit=0", "limit"), ("/api/v1/inspections?limit=1001", "limit"),
                                  ("/api/v1/inspections?limit=ten", "limit"), ("/api/v1/inspections?cursor=garbage", "cursor"),
                                  ("/api/v1/defects?cursor=\(inspectionCursor)", "cursor"),
                                  ("/api/v1/defects?format=csv&cursor=\(inspectionCursor)", "cursor"),
                                  ("/api/v1/inspections?clas=short", "clas"), ("/api/v1/inspections?camera=", "camera"),
                                  ("/api/v1/defects?format=xml", "format"), ("/api/v1/inspections/abc", "id"),
                                  ("/api/v1/inspections/\(ngID)/snapshot.jpg?annotated=2", "annotated")] {
            let answer = try http.get(path)
            XCTAssertEqual(answer.status, 400, "\(path): \(answer.text)")
            XCTAssertEqual(answer.contentType, "application/json", path)
            XCTAssertEqual(answer.object?["error"] as? String, "bad_request", "\(path): \(answer.text)")
            XCTAssertTrue((answer.object?["detail"] as? String ?? "").hasPrefix(parameter + ":"), "\(path): \(answer.text)")
        }

        // /api/v1/status: the snapshot directory's disk use, and the age of the oldest message the broker has not
        // acknowledged (the broker stopped, so messages wait; the age must point at the oldest pending row).
        let status = try XCTUnwrap(try http.get("/api/v1/status").object)
        let snapshots = try XCTUnwrap(status["snapshots"] as? [String: Any], "\(status)")
        XCTAssertEqual(snapshots["enabled"] as? Bool, true)
        XCTAssertEqual(snapshots["path"] as? String, dir.appendingPathComponent("state/snapshots").standardizedFileURL.path)
        XCTAssertGreaterThanOrEqual(snapshots["bytes"] as? Int ?? 0, plain.body.count + annotated.body.count)
        XCTAssertEqual(snapshots["cap_bytes"] as? Int, 1024 << 20)
        broker.stop()
        var mqtt: [String: Any] = [:], before = Date(), after = Date()
        XCTAssertTrue(try daemon.wait {
            before = Date()
            mqtt = try http.get("/api/v1/status").object?["mqtt"] as? [String: Any] ?? [:]
            after = Date()
            return mqtt["oldest_pending_age_seconds"] as? Double != nil && mqtt["connected"] as? Bool == false
        }, "no pending message after the broker stopped: \(mqtt)")
        let age = try XCTUnwrap(mqtt["oldest_pending_age_seconds"] as? Double)
        let oldestText = try XCTUnwrap(try sql("SELECT min(created_at) FROM outbox WHERE state = 'pending'").first)
        let parser = DateFormatter()
        parser.locale = Locale(identifier: "en_US_POSIX"); parser.timeZone = TimeZone(identifier: "UTC")
        parser.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        let oldest = try XCTUnwrap(parser.date(from: oldestText), oldestText)
        XCTAssertGreaterThanOrEqual(oldest.timeIntervalSince1970, before.timeIntervalSince1970 - age - 0.002)
        XCTAssertLessThanOrEqual(oldest.timeIntervalSince1970, after.timeIntervalSince1970 - age + 0.002)
        daemon.stop()
    }
}
