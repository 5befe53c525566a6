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

    /// The defects message of an inspection (QoS 1, not retained).
    public func defects(for r: InspectionRecord, eventID: UUID = UUID(), now: Date = Date()) -> OutgoingMessage {
        let payload = DefectsPayload(
            schema: "inspectd.defects/1", eventId: Self.id(eventID), timestamp: Timestamp.string(now),
            capturedAt: Timestamp.string(r.captureTime), line: line, station: station, camera: r.camera,
            sequence: r.sequence, verdict: r.isNG ? "NG" : "OK",
            model: .init(name: r.modelName, sha256: r.modelSHA256), configRevision: r.configRevision,
            latencyMs: Self.round(r.latencyMillis, 3),
            defects: r.defects.map {
                .init(classId: $0.classID, class: $0.className, confidence: Self.round($0.confidence, 4),
                      threshold: Self.round($0.threshold, 4),
                      box: [$0.x1, $0.y1, $0.x2, $0.y2].map { Self.round($0, 1) })
            },
            snapshot: r.snapshotPath, annotatedSnapshot: r.annotatedPath)
        return OutgoingMessage(eventID: eventID, topic: "\(prefix)/\(r.camera)/defects", payload: Self.encode(payload))
    }

    /// The retained station status (`online`/`offline`) for `clientID`.
    public func status(online: Bool, clientID: String, eventID: UUID = UUID(), now: Date = Date()) -> OutgoingMessage {
        let payload = StatusPayload(schema: "inspectd.status/1", eventId: Self.id(eventID), timestamp: Timestamp.string(now),
                                    line: line, station: station, state: online ? "online" : "offline", clientId: clientID)
        return OutgoingMessage(eventID: eventID, topic: statusTopic, payload: Self.encode(payload), retained: true)
    }

    /// The retained status of a camera (`up`/`down`, with the reason for `down`).
    public func cameraStatus(camera: String, up: Bool, reason: String = "", eventID: UUID = UUID(),
                             now: Date = Date()) -> OutgoingMessage {
        let payload = CameraStatusPayload(schema: "inspectd.camera_status/1", eventId: Self.id(eventID),
                                          timestamp: Timestamp.string(now), line: line, station: station,
                                          camera: camera, state: up ? "up" : "down", reason: reason)
        return OutgoingMessage(eventID: eventID, topic: "\(prefix)/\(camera)/status", payload: Self.encode(payload),
                               retained: true)
    }

    /// The periodic stats message.
    public func stats(intervalSeconds: Double, uptimeSeconds: Double, cameras: [StatsPayload.Camera],
                      outboxBacklog: Int, eventID: UUID = UUID(), now: Date = Date()) -> OutgoingMessage {
        let payload = StatsPayload(schema: "inspectd.stats/1", eventId: Self.id(eventID), timestamp: Timestamp.string(now),
                                   line: line, station: station, intervalS: intervalSeconds, uptimeS: uptimeSeconds,
                                   cameras: cameras, outboxBacklog: outboxBacklog)
        return OutgoingMessage(eventID: eventID, topic: prefix + "/stats", payload: Self.encode(payload))
    }

    /// An alarm (line rule or threshold drift).
    public func alarm(camera: String, ruleID: String, kind: String, message: String, evidence: [UInt64],
                      eventID: UUID = UUID(), now: Date = Date()) -> OutgoingMessage {
        let payload = AlarmPayload(schema: "inspectd.alarm/1", eventId: Self.id(eventID), timestamp: Timestamp.string(now),
                                   line: line, station: station, camera: camera, ruleId: ruleID, kind: kind,
                                   message: message, evidence: evidence)
        return OutgoingMessage(eventID: eventID, topic: prefix + "/alarms", payload: Self.encode(payload))
    }

    static func id(_ uuid: UUID) -> String { uuid.uuidString.lowercased() }

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
