import Delivery
import Foundation
import TestSupport
import XCTest

/// `GET /api/v1/trends` against a running daemon: every bucket's inspections, NG frames, NG rate and defects per
/// class equal what `sqlite3` counts on the same database between the bucket's bounds, for a camera whose
/// inspections (written before the daemon started, some exactly on bucket boundaries) do not change while the
/// test runs; all cameras together include the live one; bad windows are 400s.
final class TrendsAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-trends") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testBucketsAgreeWithSQLite() throws {
        let db = dir.appendingPathComponent("state/audit.db").path
        _ = try AuditStore(path: db)
        // Camera `old`: one frame every 7 s over the last 25 hours (every third NG with one or two defects),
        // and one on each 5-minute boundary of the last day.
        _ = try sql(db, """
            WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 12857)
            INSERT INTO inspections (camera, sequence, captured_at, verdict, defect_count, latency_ms, model_sha256,
                config_revision, recorded_at)
            SELECT 'old', k, strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (k * 7) || ' seconds'),
                CASE WHEN k % 3 = 0 THEN 'NG' ELSE 'OK' END, 0, 10, 'x', 'r', '2026-01-01 00:00:00.000' FROM n;
            WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 288)
            INSERT INTO inspections (camera, sequence, captured_at, verdict, defect_count, latency_ms, model_sha256,
                config_revision, recorded_at)
            SELECT 'old', 100000 + k, datetime((CAST(strftime('%s', 'now') AS INTEGER) / 300) * 300 - 300 * k, 'unixepoch') || '.000',
                'NG', 0, 10, 'x', 'r', '2026-01-01 00:00:00.000' FROM n;
            INSERT INTO defects (inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2)
            SELECT id, 0, 'open', 0.9, 0.5, 1, 2, 3, 4 FROM inspections WHERE verdict = 'NG';
            INSERT INTO defects (inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2)
            SELECT id, 1, 'short', 0.8, 0.5, 1, 2, 3, 4 FROM inspections WHERE verdict = 'NG' AND sequence % 2 = 0;
            """)
        let daemon = try RunningDaemon(yaml: """
            site: {line: trends, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1, threads_per_worker: 1}
            cameras:
              - id: cam1
                source: {type: synthetic, width: 320, height: 320, fps: 2, defects_per_frame: [0, 2], seed: 4}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0"}
            shutdown_timeout: 20s
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client

        for (window, seconds, count) in [("1h", 300, 12), ("8h", 1800, 16), ("24h", 3600, 24)] {
            let answer = try http.get("/api/v1/trends?window=\(window)&camera=old")
            XCTAssertEqual(answer.status, 200, answer.text)
            let doc = try XCTUnwrap(answer.object, answer.text)
            XCTAssertEqual(doc["bucket_seconds"] as? Int, seconds)
            XCTAssertEqual(doc["camera"] as? String, "old")
            let buckets = try XCTUnwrap(doc["buckets"] as? [[String: Any]])
            XCTAssertEqual(buckets.count, count)
            let bounds = buckets.map { $0["start"] as? String ?? "" } + [doc["until"] as? String ?? ""]
            func sqlite(_ iso: String) -> String { String(iso.replacingOccurrences(of: "T", with: " ").dropLast()) }
            XCTAssertEqual(sqlite(bounds[0]), sqlite(doc["since"] as? String ?? ""))
            var total = 0
            for (k, bucket) in buckets.enumerated() {
                let range = "camera = 'old' AND captured_at >= '\(sqlite(bounds[k]))' AND captured_at < '\(sqlite(bounds[k + 1]))'"
                let expected = try sql(db, "SELECT count(*) || ' ' || coalesce(sum(verdict = 'NG'), 0) FROM inspections WHERE \(range)")[0]
                XCTAssertEqual("\(bucket["inspections"] ?? "") \(bucket["ng_frames"] ?? "")", expected, "\(window) bucket \(k) \(bounds[k])")
                let classes = ((bucket["defects"] as? [[String: Any]]) ?? []).map { "\($0["class"] ?? "") \($0["count"] ?? "")" }
                XCTAssertEqual(classes, try sql(db, """
                    SELECT d.class_name || ' ' || count(*) FROM defects d JOIN inspections i ON i.id = d.inspection_id
                    WHERE \(range.replacingOccurrences(of: "camera", with: "i.camera").replacingOccurrences(of: "captured_at", with: "i.captured_at"))
                    GROUP BY d.class_name ORDER BY count(*) DESC, d.class_name
                    """), "\(window) bucket \(k)")
                let n = bucket["inspections"] as? Int ?? 0, ng = bucket["ng_frames"] as? Int ?? 0
                XCTAssertEqual(bucket["ng_rate"] as? Double ?? -1, n == 0 ? 0 : Double(ng) / Double(n), accuracy: 1e-12)
                total += n
            }
            XCTAssertGreaterThan(total, 0, "\(window): nothing counted")
        }

        // All cameras: the live camera's frames are in too, once it recorded some.
        XCTAssertTrue(try daemon.wait { (try sql(db, "SELECT count(*) FROM inspections WHERE camera = 'cam1'").first ?? "0") != "0" })
        let all = try XCTUnwrap(try http.get("/api/v1/trends?window=1h").object)
        let old = try XCTUnwrap(try http.get("/api/v1/trends?window=1h&camera=old").object)
        func sum(_ doc: [String: Any]) -> Int { ((doc["buckets"] as? [[String: Any]]) ?? []).reduce(0) { $0 + ($1["inspections"] as? Int ?? 0) } }
        XCTAssertGreaterThan(sum(all), sum(old))
        XCTAssertNil(all["camera"])
        for bad in ["window=2h", "window=", "camera="] {
            let answer = try http.get("/api/v1/trends?\(bad)")
            XCTAssertEqual(answer.status, 400, "\(bad): \(answer.text)")
            XCTAssertEqual(answer.object?["error"] as? String, "bad_request")
        }
        XCTAssertEqual(daemon.stop(), 0)
    }

    private func sql(_ db: String, _ query: String) throws -> [String] {
        let (status, output) = try TestProcess.run("sqlite3", [db, query])
        XCTAssertEqual(status, 0, output)
        return output.split(separator: "\n").map(String.init)
    }
}
