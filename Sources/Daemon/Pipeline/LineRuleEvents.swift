import Delivery
import Detection
import Foundation

/// What the judge's line-rule alarms and adaptive threshold changes of one frame become: a service event each
/// in the audit store, and for an alarm its message on `{prefix}/alarms` (MQTT on). No I/O.
enum LineRuleEvents {
    /// One audit event with the messages that go out in its transaction.
    struct Output {
        var event: ServiceEvent
        var messages: [OutgoingMessage]
    }

    /// The alarms of `inspection` first, then its threshold changes, each in the judge's order.
    static func events(for inspection: Inspection, messages: MessageFactory, mqttEnabled: Bool) -> [Output] {
        let camera = inspection.cameraID
        var out: [Output] = []
        for alarm in inspection.alarms {
            let message = messages.alarm(camera: camera, ruleID: alarm.ruleID, kind: alarm.kind,
                                         message: alarm.message, evidence: alarm.evidence)
            out.append(Output(event: ServiceEvent(.alarm, camera: camera, detail: json(alarm)),
                              messages: mqttEnabled ? [message] : []))
        }
        for change in inspection.thresholdChanges {
            out.append(Output(event: ServiceEvent(.thresholdChange, camera: camera, detail: json(change)), messages: []))
        }
        return out
    }

    /// Sorted-key JSON, the `detail` of the audit event.
    static func json<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
