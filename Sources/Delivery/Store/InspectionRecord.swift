import Foundation

/// One judged frame as the audit store records it. The daemon fills it from Detection's `Inspection`.
public struct InspectionRecord: Sendable, Equatable, Codable {
    /// Camera id from the config.
    public var camera: String
    /// The capture's frame sequence number.
    public var sequence: UInt64
    /// When the frame was captured (wall clock, UTC).
    public var captureTime: Date
    /// True for NG (at least one defect passed its threshold).
    public var isNG: Bool
    /// Capture → verdict latency.
    public var latencyMillis: Double
    /// Model name (for payloads; the database keeps the sha256).
    public var modelName: String
    /// SHA-256 of the model file, hex.
    public var modelSHA256: String
    /// Config revision in force (hash or counter from the daemon).
    public var configRevision: String
    /// The defects that passed their thresholds.
    public var defects: [DefectRecord]
    /// Path of the evidence JPEG, if one was saved (see ``SnapshotStore``).
    public var snapshotPath: String?
    /// Path of the annotated copy, if one was saved.
    public var annotatedPath: String?
    /// Why the frame could not be judged (not aligned to its reference, undecodable, engine failure); nil for a
    /// judged frame. A frame with an error is neither OK nor NG: its verdict is `ERROR`.
    public var error: String?
    /// The part a trigger named (nil for a free-running frame).
    public var part: PartFields?

    /// `OK`, `NG` or `ERROR`, as the audit database and the defects payload write it.
    public var verdict: String { error != nil ? "ERROR" : isNG ? "NG" : "OK" }

    /// Creates a record; `isNG` defaults to "has defects".
    public init(camera: String, sequence: UInt64, captureTime: Date, isNG: Bool? = nil, latencyMillis: Double,
                modelName: String, modelSHA256: String, configRevision: String, defects: [DefectRecord],
                snapshotPath: String? = nil, annotatedPath: String? = nil, error: String? = nil,
                part: PartFields? = nil) {
        self.camera = camera; self.sequence = sequence; self.captureTime = captureTime
        self.isNG = isNG ?? !defects.isEmpty; self.latencyMillis = latencyMillis
        self.modelName = modelName; self.modelSHA256 = modelSHA256; self.configRevision = configRevision
        self.defects = defects; self.snapshotPath = snapshotPath; self.annotatedPath = annotatedPath
        self.error = error; self.part = part
    }
}
