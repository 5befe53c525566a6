/// The saved state of a camera's adaptive thresholds: what the daemon stores in the audit store and hands
/// back to `CameraJudge` after a restart. Keyed by class name so it survives a model whose class order changed.
public struct ThresholdState: Sendable, Codable, Equatable {
    /// Format version of this snapshot.
    public var version: Int
    /// Per adaptive class, by class name.
    public var classes: [String: ClassState]

    /// Creates a snapshot.
    public init(version: Int = 1, classes: [String: ClassState] = [:]) { self.version = version; self.classes = classes }

    /// One class's adaptive state.
    public struct ClassState: Sendable, Codable, Equatable {
        /// Highest score on each remembered OK frame, oldest first.
        public var samples: [Float]
        /// Threshold in force when saved.
        public var threshold: Float
        /// Capture time (seconds since 1970) since which the threshold has been at its ceiling, if it is.
        public var ceilingSince: Double?
        /// True when the drift alarm for the current stay at the ceiling has been raised.
        public var driftAlarmed: Bool

        /// Creates a class state.
        public init(samples: [Float], threshold: Float, ceilingSince: Double? = nil, driftAlarmed: Bool = false) {
            self.samples = samples; self.threshold = threshold; self.ceilingSince = ceilingSince
            self.driftAlarmed = driftAlarmed
        }

        enum CodingKeys: String, CodingKey {
            case samples, threshold, ceilingSince = "ceiling_since", driftAlarmed = "drift_alarmed"
        }
    }
}
