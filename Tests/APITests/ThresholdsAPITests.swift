import Delivery
import Foundation
import TestSupport
import XCTest

/// `GET /api/v1/cameras/{id}/thresholds` against a running daemon: per class and minute, the value the last
/// `threshold_change` event of the minute set, equal to what `sqlite3` finds on the same database for threshold
/// changes written before the daemon started (on a triggered camera that judges nothing while the test runs);
/// a camera with adaptive thresholds gets its own changes charted; `/api/v1/cameras` marks adaptive classes
/// and reports no controls for a synthetic source; bad windows are 400s, unknown cameras 404s.
final class ThresholdsAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-thresholds") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testThresholdHistoryAgreesWithSQLite() throws {
        let db = dir.appendingPathComponent("state/audit.db").path
        _ = try AuditStore(path: db)
        // Camera `still`: a change every 17 s over the last 70 minutes for two classes, values from the row number.
        _ = try sql(db, """
            WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 247)
            INSERT INTO service_events (at, kind, camera, detail)
            SELECT strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (4200 - k * 17) || ' seconds'), 'threshold_change', 'still',
                json_object('classID', k % 2, 'className', CASE k % 2 WHEN 0 THEN 'open' ELSE 'short' END,
                            'from', 0.3, 'to', 0.3 + (k % 50) / 100.0) FROM n;
            """)
        let daemon = try RunningDaemon(yaml: """
            site: {line: thresholds, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1, threads_per_worker: 1}
            detection:
              adaptive: {enabled: true, classes: [short], window: 10, min_samples: 2, floor: 0.05}
            cameras:
              - id: live
                source: {type: synthetic, width: 320, height: 320, fps: 4, defects_per_frame: [0, 1], seed: 3}
              - id: still
                source: {type: synthetic, width: 320, height: 320, fps: 4, seed: 8}
                trigger: {mode: software}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0"}
            shutdown_timeout: 20s
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client

        let answer = try http.get("/api/v1/cameras/still/thresholds?window=1h")
        XCTAssertEqual(answer.status, 200, answer.text)
        let doc = try XCTUnwrap(answer.object, answer.text)
        XCTAssertEqual(doc["bucket_seconds"] as? Int, 60)
        XCTAssertEqual(doc["camera"] as? String, "still")
        func sqlite(_ iso: String) -> String { String(iso.replacingOccurrences(of: "T", with: " ").dropLast()) }
        let since = sqlite(doc["since"] as? String ?? ""), until = sqlite(doc["until"] as? String ?? "")
        let classes = try XCTUnwrap(doc["classes"] as? [[String: Any]])
        XCTAssertEqual(classes.map { $0["class"] as? String ?? "" }, ["open", "short"])
        for series in classes {
            let name = series["class"] as? String ?? ""
            let got = ((series["points"] as? [[String: Any]]) ?? []).map { "\(sqlite($0["at"] as? String ?? "")) \($0["threshold"] ?? "")" }
            // The oracle: per minute from `since`, the `to` of the minute's last event (largest id).
            let expected = try sql(db, """
                SELECT strftime('%Y-%m-%d %H:%M:%S', '\(since)', '+' || m || ' minutes') || '.000 ' || json_extract(detail, '$.to')
                FROM (SELECT (strftime('%s', at) - strftime('%s', '\(since)')) / 60 AS m, detail, id FROM service_events
                      WHERE kind = 'threshold_change' AND camera = 'still' AND at >= '\(since)' AND at < '\(until)'
                        AND json_extract(detail, '$.className') = '\(name)') e
                WHERE id = (SELECT max(id) FROM service_events s WHERE s.kind = 'threshold_change' AND s.camera = 'still'
                            AND json_extract(s.detail, '$.className') = '\(name)' AND s.at >= '\(since)' AND s.at < '\(until)'
                            AND (strftime('%s', s.at) - strftime('%s', '\(since)')) / 60 = e.m)
                ORDER BY m
                """)
            XCTAssertGreaterThan(expected.count, 50, "\(name): the inserted changes span the hour")
            XCTAssertEqual(got.map { Self.rounded($0) }, expected.map { Self.rounded($0) }, name)
        }
        for (window, seconds) in [("8h", 300), ("24h", 900)] {
            let other = try XCTUnwrap(try http.get("/api/v1/cameras/still/thresholds?window=\(window)").object)
            XCTAssertEqual(other["bucket_seconds"] as? Int, seconds)
            XCTAssertEqual((other["classes"] as? [Any])?.count, 2)
        }

        // /api/v1/cameras: which classes adapt; a synthetic source has no controls.
        let cameras = try XCTUnwrap(try JSONSerialization.jsonObject(with: http.get("/api/v1/cameras").body) as? [[String: Any]])
        let live = try XCTUnwrap(cameras.first { $0["id"] as? String == "live" })
        XCTAssertEqual((live["controls"] as? [Any])?.count, 0, "a synthetic source has no controls: an empty list")
        XCTAssertTrue(try daemon.wait {
            let now = try http.get("/api/v1/cameras/live").object?["thresholds"] as? [[String: Any]] ?? []
            return !now.isEmpty
        })
        let thresholds = try XCTUnwrap(try http.get("/api/v1/cameras/live").object?["thresholds"] as? [[String: Any]])
        for t in thresholds { XCTAssertEqual(t["adaptive"] as? Bool, t["class"] as? String == "short", "\(t)") }

        // The adapting camera's own changes, recorded by the daemon, come back through the endpoint.
        XCTAssertTrue(try daemon.wait {
            let doc = try http.get("/api/v1/cameras/live/thresholds").object
            let series = (doc?["classes"] as? [[String: Any]])?.first { $0["class"] as? String == "short" }
            return !((series?["points"] as? [Any]) ?? []).isEmpty
        }, "no threshold change of the adaptive class came back")

        for bad in ["window=2h", "window="] {
            let answer = try http.get("/api/v1/cameras/still/thresholds?\(bad)")
            XCTAssertEqual(answer.status, 400, "\(bad): \(answer.text)")
            XCTAssertEqual(answer.object?["error"] as? String, "bad_request")
        }
        let unknown = try http.get("/api/v1/cameras/nope/thresholds")
        XCTAssertEqual(unknown.status, 404, unknown.text)
        XCTAssertEqual(unknown.object?["error"] as? String, "unknown_camera")
        XCTAssertEqual(daemon.stop(), 0)
    }

    /// "TIME VALUE" with the value to 6 decimals (SQLite prints 0.37 as 0.37, JSON may carry 0.37000000000000005).
    private static func rounded(_ line: String) -> String {
        let parts = line.split(separator: " ")
        guard parts.count == 3, let v = Double(parts[2]) else { return line }
        return "\(parts[0]) \(parts[1]) " + String(format: "%.6f", v)
    }

    private func sql(_ db: String, _ query: String) throws -> [String] {
        let (status, output) = try TestProcess.run("sqlite3", [db, query])
        XCTAssertEqual(status, 0, output)
        return output.split(separator: "\n").map(String.init)
    }
}
