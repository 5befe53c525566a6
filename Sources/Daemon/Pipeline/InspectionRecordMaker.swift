import Delivery
import Detection
import Foundation

/// The judging side of recording, with no I/O: what audit record a judged (or failed) frame becomes, and which
/// messages go out with it. NG frames are always published on the defects topic, OK frames only with
/// `mqtt.publish_ok`, frames not judged (verdict ERROR) always, because a part that was not inspected must not
/// pass as OK by silence; nothing is published with MQTT off.
struct InspectionRecordMaker: Sendable {
    /// Topics and payloads.
    var messages: MessageFactory
    /// Publish OK frames too (`mqtt.publish_ok`).
    var publishOK: Bool
    /// MQTT on (`mqtt.enabled`).
    var mqttEnabled: Bool
    /// Model file name without extension, its SHA-256 and the config revision, stamped on every record.
    var modelName: String
    var modelSHA256: String
    var configRevision: String

    /// A record and its messages, for the audit writer (one transaction).
    struct Output {
        var record: InspectionRecord
        var messages: [OutgoingMessage]
    }

    /// A judged frame; `snapshot` is where its evidence was saved (plain, annotated), if it was; `part` the part
    /// a trigger named (its result goes to `{camera}/result` too, OK included).
    func judged(_ inspection: Inspection, latencyNanos: UInt64, snapshot: (String, String?)?, part: PartFields? = nil) -> Output {
        let record = InspectionRecord(
            camera: inspection.cameraID, sequence: inspection.sequence, captureTime: inspection.captureTime,
            isNG: inspection.verdict == .ng, latencyMillis: Double(latencyNanos) / 1e6, modelName: modelName,
            modelSHA256: modelSHA256, configRevision: configRevision,
            defects: inspection.defects.map {
                DefectRecord(classID: $0.classID, className: $0.className, confidence: Double($0.confidence),
                             threshold: Double($0.threshold), x1: Double($0.box.x1), y1: Double($0.box.y1),
                             x2: Double($0.box.x2), y2: Double($0.box.y2))
            },
            snapshotPath: snapshot?.0, annotatedPath: snapshot?.1, part: part)
        let publish = mqttEnabled && (inspection.verdict == .ng || publishOK)
        return Output(record: record, messages: (publish ? [messages.defects(for: record)] : []) + result(record))
    }

    /// The result message of a triggered inspection (none for a free-running frame or with MQTT off).
    private func result(_ record: InspectionRecord) -> [OutgoingMessage] {
        guard mqttEnabled, record.part != nil else { return [] }
        return [messages.result(for: record)] + [messages.reply(for: record)].compactMap { $0 }
    }

    /// A frame that could not be judged: verdict ERROR with its reason.
    func failed(camera: String, sequence: UInt64, captureTime: Date, reason: String, latencyNanos: UInt64,
                part: PartFields? = nil) -> Output {
        let record = InspectionRecord(camera: camera, sequence: sequence, captureTime: captureTime, isNG: false,
                                      latencyMillis: Double(latencyNanos) / 1e6, modelName: modelName,
                                      modelSHA256: modelSHA256, configRevision: configRevision, defects: [],
                                      error: reason, part: part)
        return Output(record: record, messages: (mqttEnabled ? [messages.defects(for: record)] : []) + result(record))
    }
}
