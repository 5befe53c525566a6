import Delivery
import Detection
import Foundation
import XCTest
@testable import Daemon

/// The deciding parts of recording, each alone (no store, writer, broker or files): the judging side
/// (`InspectionRecordMaker`: record and defects message of a frame) and the line-rule side (`LineRuleEvents`:
/// alarms and threshold changes as audit events and alarm messages).
final class RecorderPartsTests: XCTestCase {
    private let factory = MessageFactory(line: "L1", station: "S1", prefix: "inspect/L1/S1")

    private func maker(publishOK: Bool = false, mqtt: Bool = true) -> InspectionRecordMaker {
        InspectionRecordMaker(messages: factory, publishOK: publishOK, mqttEnabled: mqtt, modelName: "m",
                              modelSHA256: "abc", configRevision: "r7")
    }

    private func inspection(defects: [Defect] = [], alarms: [Alarm] = [], changes: [ThresholdChange] = []) -> Inspection {
        Inspection(cameraID: "cam1", sequence: 42, captureTime: Date(timeIntervalSince1970: 1_700_000_000),
                   monotonicNanos: 5, verdict: defects.isEmpty ? .ok : .ng, defects: defects, alarms: alarms,
                   thresholdChanges: changes)
    }

    private func json(_ m: OutgoingMessage) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: m.payload) as? [String: Any])
    }

    func testAnNGFrameBecomesAnNGRecordWithItsDefectsAndIsPublished() throws {
        let short = Defect(classID: 1, className: "short", confidence: 0.8, threshold: 0.25,
                           box: Box(x1: 10, y1: 20, x2: 30, y2: 40))
        let out = maker().judged(inspection(defects: [short]), latencyNanos: 12_500_000, snapshot: ("a.jpg", "a-annotated.jpg"))
        XCTAssertTrue(out.record.isNG)
        XCTAssertEqual(out.record.latencyMillis, 12.5)
        XCTAssertEqual(out.record.defects, [DefectRecord(classID: 1, className: "short", confidence: Double(Float(0.8)),
                                                         threshold: 0.25, x1: 10, y1: 20, x2: 30, y2: 40)])
        XCTAssertEqual([out.record.modelName, out.record.modelSHA256, out.record.configRevision], ["m", "abc", "r7"])
        XCTAssertEqual(out.record.snapshotPath, "a.jpg"); XCTAssertEqual(out.record.annotatedPath, "a-annotated.jpg")
        XCTAssertEqual(out.messages.map(\.topic), ["inspect/L1/S1/cam1/defects"])
        let payload = try json(out.messages[0])
        XCTAssertEqual(payload["verdict"] as? String, "NG")
        XCTAssertEqual((payload["defects"] as? [Any])?.count, 1)
    }

    func testAnOKFrameIsRecordedButPublishedOnlyWithPublishOK() throws {
        let quiet = maker().judged(inspection(), latencyNanos: 0, snapshot: nil)
        XCTAssertFalse(quiet.record.isNG)
        XCTAssertEqual(quiet.messages.count, 0)
        let loud = maker(publishOK: true).judged(inspection(), latencyNanos: 0, snapshot: nil)
        XCTAssertEqual(try json(XCTUnwrap(loud.messages.first))["verdict"] as? String, "OK")
        XCTAssertEqual(maker(publishOK: true, mqtt: false).judged(inspection(), latencyNanos: 0, snapshot: nil).messages.count, 0,
                       "nothing is published with MQTT off")
    }

    func testAFrameNotJudgedIsAnErrorRecordAlwaysPublished() throws {
        let out = maker().failed(camera: "cam1", sequence: 9, captureTime: Date(), reason: "truncated_jpeg: cut", latencyNanos: 0)
        XCTAssertFalse(out.record.isNG)
        XCTAssertEqual(out.record.error, "truncated_jpeg: cut")
        let payload = try json(XCTUnwrap(out.messages.first))
        XCTAssertEqual(payload["verdict"] as? String, "ERROR")
        XCTAssertEqual(payload["error"] as? String, "truncated_jpeg: cut")
        XCTAssertEqual(maker(mqtt: false).failed(camera: "c", sequence: 0, captureTime: Date(), reason: "x", latencyNanos: 0)
                       .messages.count, 0)
    }

    func testLineRuleAlarmsAndThresholdChangesBecomeEventsAndAlarmMessages() throws {
        let alarm = Alarm(ruleID: "burst", kind: "ng_rate", message: "NG rate 30% over 20 frames", evidence: [40, 41, 42])
        let change = ThresholdChange(classID: 1, className: "short", from: 0.25, to: 0.4)
        let out = LineRuleEvents.events(for: inspection(alarms: [alarm], changes: [change]), messages: factory, mqttEnabled: true)
        XCTAssertEqual(out.map(\.event.kind), [.alarm, .thresholdChange])
        XCTAssertEqual(out.map(\.event.camera), ["cam1", "cam1"])
        let detail = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out[0].event.detail.utf8)) as? [String: Any])
        XCTAssertEqual(detail["ruleID"] as? String, "burst")
        XCTAssertEqual(out[0].messages.map(\.topic), ["inspect/L1/S1/alarms"])
        let message = try json(out[0].messages[0])
        XCTAssertEqual(message["rule_id"] as? String, "burst")
        XCTAssertEqual(message["evidence"] as? [Int], [40, 41, 42])
        XCTAssertEqual(out[1].messages.count, 0, "a threshold change is an event, not a message")
        XCTAssertTrue(out[1].event.detail.contains("\"className\":\"short\""), out[1].event.detail)
        let offline = LineRuleEvents.events(for: inspection(alarms: [alarm]), messages: factory, mqttEnabled: false)
        XCTAssertEqual(offline.map(\.event.kind), [.alarm]); XCTAssertEqual(offline[0].messages.count, 0)
        XCTAssertEqual(LineRuleEvents.events(for: inspection(), messages: factory, mqttEnabled: true).count, 0)
    }
}
