import Foundation

/// An axis-aligned box, corners in pixels (x1 ≤ x2, y1 ≤ y2).
public struct Box: Sendable, Codable, Equatable {
    public var x1: Float, y1: Float, x2: Float, y2: Float
    public init(x1: Float, y1: Float, x2: Float, y2: Float) { self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2 }
    public var width: Float { max(0, x2 - x1) }
    public var height: Float { max(0, y2 - y1) }
    public var area: Float { width * height }
}

/// How model-input pixels map back to source-frame pixels (the inverse of the letterbox):
/// `source = (input - pad) / scale`, clipped to the frame.
public struct SourceMapping: Sendable, Equatable {
    public var scale: Float
    public var padX: Float
    public var padY: Float
    public var sourceWidth: Int
    public var sourceHeight: Int
    public init(scale: Float, padX: Float, padY: Float, sourceWidth: Int, sourceHeight: Int) {
        self.scale = scale; self.padX = padX; self.padY = padY
        self.sourceWidth = sourceWidth; self.sourceHeight = sourceHeight
    }
}

/// OK when no defect passed its threshold, NG otherwise.
public enum Verdict: String, Sendable, Codable { case ok = "OK", ng = "NG" }

/// A detection that passed every rule: what the plant acts on.
public struct Defect: Sendable, Codable, Equatable {
    public var classID: Int
    public var className: String
    public var confidence: Float
    /// The confidence threshold in force for this class when the frame was judged.
    public var threshold: Float
    /// Box in source-frame pixels.
    public var box: Box
    public init(classID: Int, className: String, confidence: Float, threshold: Float, box: Box) {
        self.classID = classID; self.className = className; self.confidence = confidence
        self.threshold = threshold; self.box = box
    }
}

/// An alarm for MES: a line rule fired or a class drifted to its threshold ceiling.
public struct Alarm: Sendable, Codable, Equatable {
    /// The rule id from the config, or `drift:<class>` for drift alarms.
    public var ruleID: String
    /// `consecutive_class`, `ng_rate` or `threshold_drift`.
    public var kind: String
    /// One line for people.
    public var message: String
    /// Frame sequence numbers that made the rule fire.
    public var evidence: [UInt64]
    public init(ruleID: String, kind: String, message: String, evidence: [UInt64]) {
        self.ruleID = ruleID; self.kind = kind; self.message = message; self.evidence = evidence
    }
}

/// A class's adaptive threshold moved (recorded as a service event).
public struct ThresholdChange: Sendable, Codable, Equatable {
    public var classID: Int
    public var className: String
    public var from: Float
    public var to: Float
    public init(classID: Int, className: String, from: Float, to: Float) {
        self.classID = classID; self.className = className; self.from = from; self.to = to
    }
}

/// The judgement of one frame: the output of the Detection stage, consumed by delivery, `detect` and `eval`.
public struct Inspection: Sendable {
    public var cameraID: String
    public var sequence: UInt64
    public var captureTime: Date
    public var monotonicNanos: UInt64
    public var verdict: Verdict
    public var defects: [Defect]
    public var alarms: [Alarm]
    public var thresholdChanges: [ThresholdChange]
    public init(cameraID: String, sequence: UInt64, captureTime: Date, monotonicNanos: UInt64,
                verdict: Verdict, defects: [Defect], alarms: [Alarm] = [], thresholdChanges: [ThresholdChange] = []) {
        self.cameraID = cameraID; self.sequence = sequence; self.captureTime = captureTime
        self.monotonicNanos = monotonicNanos; self.verdict = verdict; self.defects = defects
        self.alarms = alarms; self.thresholdChanges = thresholdChanges
    }
}
