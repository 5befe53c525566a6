import API
import Delivery
import Foundation

/// The live event feed (`GET /api/v1/events`) read from the audit database: every NG and ERROR inspection in
/// full, OK ones folded into `ok` counts (a line makes thousands an hour and a plant watches the bad ones), and
/// every service event (alarms, camera up/down, threshold changes, reloads, start/stop). Field names are the
/// MQTT payloads' (`inspectd.defects/1`, `inspectd.alarm/1`, `inspectd.camera_status/1`).
extension StationFacade {
    public func eventHead() throws -> EventCursor {
        let head = try readAuditForEvents { try $0.feedHead() }
        return EventCursor(inspection: head.inspection, event: head.event)
    }

    public func events(after cursor: EventCursor, limit: Int) throws -> [StationEvent] {
        let (inspections, serviceEvents) = try readAuditForEvents {
            try $0.feed(afterInspection: cursor.inspection, afterEvent: cursor.event, limit: limit)
        }
        let site = currentSite
        var out: [StationEvent] = [], position = cursor
        var okCount = 0, okCameras: [String: Int] = [:], okLast: AuditQueries.InspectionRow?
        func emit(_ type: String, _ object: [String: Any]) {
            var object = object
            object["line"] = site.line; object["station"] = site.station
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data("{}".utf8)
            out.append(StationEvent(cursor: position, type: type, data: data))
        }
        func flushOK() {
            guard let last = okLast else { return }
            position.inspection = last.id
            emit("ok", ["count": okCount, "cameras": okCameras, "captured_at": Timestamp.string(last.capturedAt)])
            okCount = 0; okCameras = [:]; okLast = nil
        }
        // Each table in id order (what makes the cursor exact); between the two, by time.
        var i = inspections.startIndex, e = serviceEvents.startIndex
        while i < inspections.endIndex || e < serviceEvents.endIndex {
            if e == serviceEvents.endIndex || (i < inspections.endIndex && inspections[i].capturedAt <= serviceEvents[e].at) {
                let r = inspections[i]; i += 1
                if r.verdict == "OK" {
                    okCount += 1; okCameras[r.camera, default: 0] += 1; okLast = r
                    continue
                }
                flushOK()
                position.inspection = r.id
                emit("inspection", Self.inspectionEvent(r))
            } else {
                let r = serviceEvents[e]; e += 1
                flushOK()
                position.event = r.id
                let (type, object) = Self.serviceEvent(r)
                emit(type, object)
            }
        }
        flushOK()
        return out
    }

    public func eventClientCut() { metrics.eventClientCut.increment() }

    /// Runs `body` on the audit database in force (503 while starting or when it cannot be read).
    func readAuditForEvents<T>(_ body: (AuditQueries) throws -> T) throws -> T {
        guard let path = auditPath else {
            throw APIError(.serviceUnavailable, "starting", "the station is starting", headers: [.retryAfter: "1"])
        }
        return try auditReader.read(path: path, body)
    }

    /// An NG or ERROR inspection in the fields of `inspectd.defects/1`, with its audit `id`.
    private static func inspectionEvent(_ r: AuditQueries.InspectionRow) -> [String: Any] {
        var o: [String: Any] = [
            "id": r.id, "camera": r.camera, "sequence": r.sequence, "captured_at": Timestamp.string(r.capturedAt),
            "verdict": r.verdict, "latency_ms": r.latencyMs, "config_revision": r.configRevision,
            "model": ["sha256": r.modelSha256],
            "defects": r.defects.map { d -> [String: Any] in
                ["class_id": d.classID, "class": d.className, "confidence": d.confidence, "threshold": d.threshold,
                 "box": [d.x1, d.y1, d.x2, d.y2]]
            },
        ]
        if let error = r.error { o["error"] = error }
        if let p = r.part {  // as the MQTT payload writes them (MessageFactory)
            o["part_id"] = p.partID; o["trigger_source"] = p.source
            if let v = p.lot { o["lot"] = v }
            if let v = p.order { o["order"] = v }
            if let v = p.recipe { o["recipe"] = v }
            if let v = p.meta, let meta = try? JSONSerialization.jsonObject(with: Data(v.utf8), options: .fragmentsAllowed) { o["meta"] = meta }
            if let v = p.triggerID { o["trigger_id"] = v }
        }
        if let s = r.snapshotPath { o["snapshot"] = s }
        if let s = r.annotatedPath { o["annotated_snapshot"] = s }
        return o
    }

    /// A service event as its SSE type and fields: alarms as `inspectd.alarm/1`, camera changes as
    /// `inspectd.camera_status/1`, threshold changes as the `threshold_change` detail the judge records.
    private static func serviceEvent(_ r: AuditQueries.ServiceEventRow) -> (String, [String: Any]) {
        let detail = (try? JSONSerialization.jsonObject(with: Data(r.detail.utf8))) as? [String: Any] ?? [:]
        var o: [String: Any] = ["id": r.id, "timestamp": Timestamp.string(r.at)]
        switch r.kind {
        case "alarm":
            let kind = detail["kind"] as? String ?? ""
            o["camera"] = r.camera ?? "*"
            o["rule_id"] = detail["ruleID"] as? String ?? (kind.hasPrefix("storage") ? "storage" : "")
            o["kind"] = kind
            o["message"] = detail["message"] as? String ?? r.detail
            o["evidence"] = detail["evidence"] as? [Any] ?? []
            return ("alarm", o)
        case "camera_up", "camera_down":
            o["camera"] = r.camera ?? ""
            o["state"] = r.kind == "camera_up" ? "up" : "down"
            o["reason"] = r.detail
            return ("camera_status", o)
        case "threshold_change":
            o["camera"] = r.camera ?? ""
            o["class_id"] = detail["classID"] ?? NSNull()
            o["class"] = detail["className"] ?? NSNull()
            o["from"] = detail["from"] ?? NSNull()
            o["to"] = detail["to"] ?? NSNull()
            return ("threshold_change", o)
        case "config_reload":
            o["detail"] = r.detail
            return ("config_reload", o)
        default:
            o["kind"] = r.kind
            o["detail"] = r.detail
            if let camera = r.camera { o["camera"] = camera }
            return ("service", o)
        }
    }
}
