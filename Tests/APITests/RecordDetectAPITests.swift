import Foundation
import TestSupport
import XCTest

/// `POST /api/v1/detect?camera=ID&record=true` (here as multipart/form-data, as `curl -F` sends it): the image is
/// judged as a frame of that camera and recorded and published by the camera's own path: its audit row (the id
/// answered), its evidence snapshot and its defects message on a real mosquitto broker.
final class RecordDetectAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-record") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testRecordedImageLandsInTheAuditDatabaseAndOnTheBroker() throws {
        let valDir = TestProcess.shared + "/datasets/deeppcb/images/val"
        let image = try XCTUnwrap((try? FileManager.default.contentsOfDirectory(atPath: valDir))?
            .filter { $0.hasSuffix(".jpg") }.sorted().first.map { valDir + "/" + $0 }, "no DeepPCB val image in \(valDir)")
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let subscriber = try MosquittoSubscriber(broker: broker, topic: "rec/s1/#", clientID: "rec-sub", directory: dir)
        defer { subscriber.stop() }
        try image.write(to: dir.appendingPathComponent("images.txt"), atomically: true, encoding: .utf8)
        let daemon = try RunningDaemon(yaml: """
            site: {line: rec, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras:
              - id: cam
                source: {type: replay, list: images.txt, fps: 0.5, loop: true}
            detection: {confidence: 0.25}
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: rec-daemon, topic_prefix: rec/s1}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: true, dir: snaps}
            http: {listen: "127.0.0.1:0"}
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client

        let answer = try http.postForm("/api/v1/detect?camera=cam&record=true", fields: ["image=@\(image);type=image/jpeg"])
        XCTAssertEqual(answer.status, 200, answer.text)
        let a = try XCTUnwrap(answer.object, answer.text)
        let id = try XCTUnwrap(a["audit_id"] as? Int, "no audit id: \(answer.text)")
        XCTAssertEqual(a["camera"] as? String, "cam")
        XCTAssertEqual(a["verdict"] as? String, "NG", "a DeepPCB val image has defects: \(answer.text)")
        let defects = (a["defects"] as? [[String: Any]]) ?? []
        XCTAssertGreaterThan(defects.count, 0)

        // The audit row of that id is this image: the camera, sequence 0, its verdict, its defects, a snapshot.
        let db = dir.appendingPathComponent("state/audit.db").path
        let row = try TestProcess.run("sqlite3", ["-readonly", "-separator", "|", db,
            "SELECT camera, sequence, verdict, defect_count, snapshot_path, captured_at FROM inspections WHERE id = \(id)"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(row.count, 6, "no audit row \(id): \(row)")
        guard row.count == 6 else { return }
        XCTAssertEqual(Array(row[0...3]), ["cam", "0", "NG", "\(defects.count)"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: row[4]) ||
                      FileManager.default.fileExists(atPath: dir.appendingPathComponent(row[4]).path), "no snapshot at \(row[4])")
        let classes = try TestProcess.run("sqlite3", ["-readonly", db,
            "SELECT class_name FROM defects WHERE inspection_id = \(id) ORDER BY id"]).output
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(classes, defects.compactMap { $0["class"] as? String })

        // Its defects message on the broker: the one captured when the audit row says, with sequence 0.
        let capturedAt = row[5].replacingOccurrences(of: " ", with: "T")  // "2026-01-02 03:04:05.678" in the database
        let messages = subscriber.wait(timeout: 60) { $0.contains { $0.topic == "rec/s1/cam/defects" && $0.payload.contains(capturedAt) } }
        let message = try XCTUnwrap(messages.first { $0.topic == "rec/s1/cam/defects" && $0.payload.contains(capturedAt) },
                                    "no defects message captured at \(capturedAt): \(messages.map(\.payload))")
        let payload = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any])
        XCTAssertEqual(payload["sequence"] as? Int, 0)
        XCTAssertEqual(payload["verdict"] as? String, "NG")
        XCTAssertEqual((payload["defects"] as? [[String: Any]])?.count, defects.count)

        // Without record nothing is stored: the count of sequence-0 rows stays.
        func apiRows() throws -> String {
            try TestProcess.run("sqlite3", ["-readonly", db, "SELECT count(*) FROM inspections WHERE sequence = 0"]).output
        }
        let before = try apiRows()
        let stateless = try http.postForm("/api/v1/detect?camera=cam", fields: ["image=@\(image)"])
        XCTAssertEqual(stateless.status, 200, stateless.text)
        XCTAssertNil(stateless.object?["audit_id"])
        XCTAssertEqual(try apiRows(), before)

        func expect(_ answer: HTTPClient.Answer, _ status: Int, _ code: String, _ fragment: String, line: UInt = #line) {
            XCTAssertEqual(answer.status, status, answer.text, line: line)
            XCTAssertEqual(answer.object?["error"] as? String, code, answer.text, line: line)
            XCTAssertTrue((answer.object?["detail"] as? String ?? "").contains(fragment), answer.text, line: line)
        }
        expect(try http.postForm("/api/v1/detect?record=true", fields: ["image=@\(image)"]), 400, "bad_request", "camera=")
        expect(try http.postForm("/api/v1/detect?camera=nope&record=true", fields: ["image=@\(image)"]),
               404, "unknown_camera", "no camera 'nope'")
        expect(try http.postForm("/api/v1/detect?camera=cam&record=maybe", fields: ["image=@\(image)"]),
               400, "bad_request", "record=")
        expect(try http.postForm("/api/v1/detect", fields: ["picture=@\(image)", "note=x"]),
               400, "bad_request", "no part named 'image'; its parts: 'picture', 'note'")
        XCTAssertEqual(daemon.stop(), 0)
    }
}
