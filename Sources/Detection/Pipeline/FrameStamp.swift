import Foundation

/// Identity and times of a frame, as the judge needs them.
public struct FrameStamp: Sendable, Equatable {
    /// Camera's frame sequence number (evidence in line-rule alarms).
    public var sequence: UInt64
    /// Wall-clock capture time (drift is measured on it, so tests can drive time).
    public var captureTime: Date
    /// Monotonic capture time, carried into the inspection.
    public var monotonicNanos: UInt64
    /// Creates a stamp.
    public init(sequence: UInt64, captureTime: Date, monotonicNanos: UInt64 = 0) {
        self.sequence = sequence; self.captureTime = captureTime; self.monotonicNanos = monotonicNanos
    }
}
