import Foundation
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
