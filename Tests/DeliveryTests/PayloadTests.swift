import Foundation
import GRDB
import XCTest
@testable import Delivery

final class PayloadTests: XCTestCase {
    func testTimestampIsUTCWithMilliseconds() {
        XCTAssertEqual(Timestamp.string(Date(timeIntervalSince1970: 1_795_000_000.0456)), "2026-11-18T11:06:40.045Z")
        XCTAssertEqual(Timestamp.string(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
    }

    func testEveryPayloadKindValidatesAgainstItsSchemaFile() throws {
        let f = Fixtures.factory
        let r = Fixtures.inspection(sequence: 7, defects: 2, snapshot: "/var/lib/inspectd/snapshots/x.jpg")
        let messages = [
            f.defects(for: r),
            f.status(online: true, clientID: "inspectd-L1-S2"),
            f.status(online: false, clientID: "inspectd-L1-S2"),
            f.cameraStatus(camera: "cam1", up: false, reason: "ENODEV"),
            f.stats(intervalSeconds: 60, uptimeSeconds: 3600,
                    cameras: [.init(camera: "cam1", state: "up", frames: 1800, ngFrames: 3, droppedFrames: 0, fps: 30,
                                    latencyMsMean: 21.5, latencyMsP99: 40)], outboxBacklog: 0),
            f.alarm(camera: "cam1", ruleID: "drift:short", kind: "threshold_drift", message: "short held at 0.9",
                    evidence: [1, 2, 3]),
        ]
        let payloads = messages.map { String(decoding: $0.payload, as: UTF8.self) }
        XCTAssertEqual(try SchemaValidator.problems(payloads), [])
        XCTAssertEqual(Set(messages.map(\.eventID)).count, messages.count, "event ids are unique")
        XCTAssertEqual(messages.map(\.topic), ["inspect/L1/S2/cam1/defects", "inspect/L1/S2/status", "inspect/L1/S2/status",
                                               "inspect/L1/S2/cam1/status", "inspect/L1/S2/stats", "inspect/L1/S2/alarms"])
        XCTAssertEqual(messages.map(\.retained), [false, true, true, true, false, false])
        let json = try JSONSerialization.jsonObject(with: messages[0].payload) as? [String: Any]
        XCTAssertEqual(json?["schema"] as? String, "inspectd.defects/1")
        XCTAssertEqual((json?["defects"] as? [[String: Any]])?.first?["box"] as? [Double], [10.5, 20, 110.3, 220])
        XCTAssertEqual(json?["snapshot"] as? String, "/var/lib/inspectd/snapshots/x.jpg")
    }

    func testSchemaCheckCatchesABrokenPayload() throws {
        let bad = #"{"schema":"inspectd.defects/1","event_id":"nope","timestamp":"2026-11-24T10:00:00Z"}"#
        XCTAssertFalse(try SchemaValidator.problems([bad]).isEmpty)
    }

    func testSettingsProblemsNameTheKey() {
        let s = MQTTSettings(host: "", port: 70000, clientID: "x", passwordFile: "/nonexistent",
                             tls: .init(caFile: "/nonexistent-ca.pem"))
        let problems = s.problems().joined(separator: "\n")
        for key in ["mqtt.host", "mqtt.port", "mqtt.password_file", "mqtt.tls.ca_file"] {
            XCTAssertTrue(problems.contains(key), "\(key) missing in: \(problems)")
        }
    }
}

final class DefectsPayloadEncodingTests: XCTestCase {
    /// The hand-written defects JSON decodes to exactly the Codable payload, including awkward strings.
    func testHandWrittenJSONMatchesCodablePayload() throws {
        var r = Fixtures.inspection(camera: "cam \"7\"\\\n\u{1}é", sequence: 12_345_678_901, defects: 3,
                                    snapshot: "/snap/a b.jpg")
        r.annotatedPath = "/snap/a b_annotated.jpg"
        r.defects[1].x1 = 1e6 + 0.25
        let id = UUID()
        let now = Date(timeIntervalSince1970: 1_795_000_000.5)
        let message = Fixtures.factory.defects(for: r, eventID: id, now: now)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let decoded = try decoder.decode(DefectsPayload.self, from: message.payload)
        XCTAssertEqual(decoded.eventId, id.uuidString.lowercased())
        XCTAssertEqual(decoded.camera, r.camera)
        XCTAssertEqual(decoded.sequence, 12_345_678_901)
        XCTAssertEqual(decoded.timestamp, "2026-11-18T11:06:40.500Z")
        XCTAssertEqual(decoded.defects.count, 3)
        XCTAssertEqual(decoded.defects[1].box, [1_000_000.3, 20, 110.3, 220])
        XCTAssertEqual(decoded.defects[0].class, "short")
        XCTAssertEqual(decoded.snapshot, "/snap/a b.jpg")
        XCTAssertEqual(decoded.annotatedSnapshot, "/snap/a b_annotated.jpg")
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: message.payload) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), ["schema", "event_id", "timestamp", "captured_at", "line", "station", "camera",
                                   "sequence", "verdict", "model", "config_revision", "latency_ms", "defects",
                                   "snapshot", "annotated_snapshot"])
        XCTAssertEqual(try SchemaValidator.problems([String(decoding: message.payload, as: UTF8.self)]), [])
    }
}

final class EventIDTests: XCTestCase {
    func testVersion7IdsAreUniqueAndTimeOrdered() {
        let t = Date(timeIntervalSince1970: 1_795_000_000)
        let a = EventID.make(now: t), b = EventID.make(now: t.addingTimeInterval(0.002))
        XCTAssertEqual(a.uuidString.lowercased().dropFirst(14).first, "7", "version nibble")
        XCTAssertTrue(["8", "9", "a", "b"].contains(a.uuidString.lowercased().dropFirst(19).first), "variant bits")
        XCTAssertLessThan(a.uuidString.lowercased(), b.uuidString.lowercased())
        XCTAssertEqual(Set((0..<10_000).map { _ in EventID.make(now: t) }).count, 10_000)
    }
}

final class TimestampTests: XCTestCase {
    func testDatabaseSpellingRoundTripsThroughGRDBAndBeforeEpoch() throws {
        let d = Date(timeIntervalSince1970: 1_795_000_000.123)
        XCTAssertEqual(Timestamp.sqlite(d), "2026-11-18 11:06:40.123")
        XCTAssertEqual(Date.fromDatabaseValue(Timestamp.sqlite(d).databaseValue).map { Timestamp.sqlite($0) }, "2026-11-18 11:06:40.123")
        XCTAssertEqual(Timestamp.string(Date(timeIntervalSince1970: -0.5)), "1969-12-31T23:59:59.500Z")
    }
}
