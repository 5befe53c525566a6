import Foundation

/// Builds the outgoing messages (topic + JSON payload + QoS/retain) of one station, so every topic name and
/// payload shape lives in one place. Topics sit under `prefix` (default `inspect/{line}/{station}`):
/// `{prefix}/{camera}/defects`, `{prefix}/status`, `{prefix}/{camera}/status`, `{prefix}/stats`, `{prefix}/alarms`.
public struct MessageFactory: Sendable {
    /// Line id.
    public let line: String
    /// Station id.
    public let station: String
    /// Topic prefix with `{line}` and `{station}` substituted.
    public let prefix: String

    /// Creates a factory. `prefix` may contain `{line}` and `{station}`.
    public init(line: String, station: String, prefix: String = "inspect/{line}/{station}") {
        self.line = line; self.station = station
        self.prefix = prefix.replacingOccurrences(of: "{line}", with: line)
            .replacingOccurrences(of: "{station}", with: station)
    }

    /// `{prefix}/status`, where `online`/`offline` are retained.
    public var statusTopic: String { prefix + "/status" }

    /// The defects message of an inspection (QoS 1, not retained). Schema `inspectd.defects/1`: the JSON has
    /// exactly the keys of ``DefectsPayload``; it is written by hand because this runs once per NG frame.
    public func defects(for r: InspectionRecord, eventID: UUID = EventID.make(), now: Date = Date()) -> OutgoingMessage {
        inspection(r, schema: "inspectd.defects/1", topic: "\(prefix)/\(r.camera)/defects", eventID: eventID, now: now)
    }

    /// The result message of a triggered inspection, OK, NG or ERROR alike (QoS 1, not retained), on
    /// `{prefix}/{camera}/result`: schema `inspectd.result/1`, the defects payload's keys under another schema
    /// name, so a PLC gateway or MES that triggered gets one answer per trigger.
    public func result(for r: InspectionRecord, eventID: UUID = EventID.make(), now: Date = Date()) -> OutgoingMessage {
        inspection(r, schema: "inspectd.result/1", topic: "\(prefix)/\(r.camera)/result", eventID: eventID, now: now)
    }

    /// The copy of a trigger's result for the MQTT v5 response topic its trigger set (with its correlation
    /// data), or nil when it set none.
    public func reply(for r: InspectionRecord, eventID: UUID = EventID.make(), now: Date = Date()) -> OutgoingMessage? {
        guard let topic = r.part?.replyTopic else { return nil }
        var m = inspection(r, schema: "inspectd.result/1", topic: topic, eventID: eventID, now: now)
        m.correlationData = r.part?.correlationData
        return m
    }

    /// The answer to an MQTT trigger that was refused before any inspection (not a trigger document, unknown
    /// or free-running camera): `inspectd.result/1` with verdict ERROR and the reason, on `{prefix}/{camera}/result`
    /// and on the trigger's response topic when it set one.
    public func refusedTrigger(camera: String, partID: String?, reason: String, replyTopic: String?, correlationData: Data?,
                               now: Date = Date()) -> [OutgoingMessage] {
        func make(_ topic: String) -> OutgoingMessage {
            let eventID = EventID.make()
            var w = JSONWriter()
            w.raw("{")
            w.field("schema", "inspectd.result/1")
            w.field("event_id", Self.id(eventID))
            w.field("timestamp", Timestamp.string(now))
            w.field("line", line)
            w.field("station", station)
            w.field("camera", camera)
            w.field("verdict", "ERROR")
            w.field("error", reason)
            if let partID { w.field("part_id", partID) }
            w.field("trigger_source", "mqtt")
            w.raw("}")
            return OutgoingMessage(eventID: eventID, topic: topic, payload: Data(w.text.utf8))
        }
        var out = [make("\(prefix)/\(camera)/result")]
        if let replyTopic { var m = make(replyTopic); m.correlationData = correlationData; out.append(m) }
        return out
    }

    private func inspection(_ r: InspectionRecord, schema: String, topic: String, eventID: UUID, now: Date) -> OutgoingMessage {
        var w = JSONWriter()
        w.raw("{")
        w.field("schema", schema)
        w.field("event_id", Self.id(eventID))
        w.field("timestamp", Timestamp.string(now))
        w.field("captured_at", Timestamp.string(r.captureTime))
        w.field("line", line)
        w.field("station", station)
        w.field("camera", r.camera)
        w.field("sequence", r.sequence)
        w.field("verdict", r.verdict)
        if let error = r.error { w.field("error", error) }
        if let p = r.part {
            w.field("part_id", p.partID)
            if let v = p.lot { w.field("lot", v) }
            if let v = p.order { w.field("order", v) }
            if let v = p.recipe { w.field("recipe", v) }
            if let v = p.meta { w.key("meta"); w.raw(v) }
            if let v = p.triggerID { w.field("trigger_id", v) }
            w.field("trigger_source", p.source)
        }
        w.key("model"); w.raw("{")
        w.field("name", r.modelName); w.field("sha256", r.modelSHA256)
        w.raw("}")
        w.field("config_revision", r.configRevision)
        w.field("latency_ms", Self.round(r.latencyMillis, 3))
        w.key("defects"); w.raw("[")
        for (i, d) in r.defects.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            w.field("class_id", d.classID)
            w.field("class", d.className)
            w.field("confidence", Self.round(d.confidence, 4))
            w.field("threshold", Self.round(d.threshold, 4))
            w.key("box"); w.raw("[")
            for (j, v) in [d.x1, d.y1, d.x2, d.y2].enumerated() {
                if j > 0 { w.raw(",") }
                w.number(Self.round(v, 1))
            }
            w.raw("]}")
        }
        w.raw("]")
        if let snapshot = r.snapshotPath { w.field("snapshot", snapshot) }
        if let annotated = r.annotatedPath { w.field("annotated_snapshot", annotated) }
        w.raw("}")
        return OutgoingMessage(eventID: eventID, topic: topic, payload: Data(w.text.utf8))
    }

    /// The retained station status (`online`/`offline`) for `clientID`.
    public func status(online: Bool, clientID: String, eventID: UUID = EventID.make(), now: Date = Date()) -> OutgoingMessage {
        let payload = StatusPayload(schema: "inspectd.status/1", eventId: Self.id(eventID), timestamp: Timestamp.string(now),
                                    line: line, station: station, state: online ? "online" : "offline", clientId: clientID)
        return OutgoingMessage(eventID: eventID, topic: statusTopic, payload: Self.encode(payload), retained: true)
    }

    /// The retained status of a camera (`up`/`down`, with the reason for `down`).
    public func cameraStatus(camera: String, up: Bool, reason: String = "", eventID: UUID = EventID.make(),
                             now: Date = Date()) -> OutgoingMessage {
        let payload = CameraStatusPayload(schema: "inspectd.camera_status/1", eventId: Self.id(eventID),
                                          timestamp: Timestamp.string(now), line: line, station: station,
                                          camera: camera, state: up ? "up" : "down", reason: reason)
        return OutgoingMessage(eventID: eventID, topic: "\(prefix)/\(camera)/status", payload: Self.encode(payload),
                               retained: true)
    }

    /// The periodic stats message.
    public func stats(intervalSeconds: Double, uptimeSeconds: Double, cameras: [StatsPayload.Camera],
                      outboxBacklog: Int, eventID: UUID = EventID.make(), now: Date = Date()) -> OutgoingMessage {
        let payload = StatsPayload(schema: "inspectd.stats/1", eventId: Self.id(eventID), timestamp: Timestamp.string(now),
                                   line: line, station: station, intervalS: intervalSeconds, uptimeS: uptimeSeconds,
                                   cameras: cameras, outboxBacklog: outboxBacklog)
        return OutgoingMessage(eventID: eventID, topic: prefix + "/stats", payload: Self.encode(payload))
    }

    /// An alarm (line rule or threshold drift).
    public func alarm(camera: String, ruleID: String, kind: String, message: String, evidence: [UInt64],
                      eventID: UUID = EventID.make(), now: Date = Date()) -> OutgoingMessage {
        let payload = AlarmPayload(schema: "inspectd.alarm/1", eventId: Self.id(eventID), timestamp: Timestamp.string(now),
                                   line: line, station: station, camera: camera, ruleId: ruleID, kind: kind,
                                   message: message, evidence: evidence)
        return OutgoingMessage(eventID: eventID, topic: prefix + "/alarms", payload: Self.encode(payload))
    }

    /// Lower-case 8-4-4-4-12 hex (hand-made: `uuidString.lowercased()` is slow on Linux and runs per frame).
    static func id(_ uuid: UUID) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(36)
        withUnsafeBytes(of: uuid.uuid) { bytes in
            for (i, b) in bytes.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func round(_ v: Double, _ digits: Int) -> Double {
        guard v.isFinite else { return 0 }
        let scale = pow(10, Double(digits))
        return (v * scale).rounded() / scale
    }

    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Our payload types hold only strings, finite numbers and arrays: encoding cannot fail.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}
