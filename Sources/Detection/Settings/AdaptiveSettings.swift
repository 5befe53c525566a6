/// Adaptive thresholds (product brief): `detection.adaptive`.
///
/// Per class, a sliding window of the class's highest score on frames judged OK for it; the threshold is
/// `clamp(percentile(window) + margin, floor, ceiling)`, the base threshold until `min_samples` exist.
public struct AdaptiveSettings: Sendable, Equatable {
    /// Adaptive thresholds on or off (`enabled`, default off: static thresholds only).
    public var enabled: Bool
    /// Classes that adapt, by name (`classes`); nil means every class.
    public var classes: [String]?
    /// Number of OK frames remembered per class (`window`, default 100).
    public var window: Int
    /// Samples needed before the window is used (`min_samples`, default 10); the base applies until then.
    public var minSamples: Int
    /// Percentile of the window, 0…100 (`percentile`, default 90). Nearest-rank: the smallest sample with
    /// at least `percentile`% of the window at or below it (no interpolation, so the exact value of samples
    /// far below the floor never matters).
    public var percentile: Double
    /// Added to the percentile (`margin`, default 0.1).
    public var margin: Float
    /// Lowest threshold (`floor`); nil means the class's base threshold.
    public var floor: Float?
    /// Highest threshold (`ceiling`, default 0.9).
    public var ceiling: Float
    /// The threshold in force moves only by at least this much (or onto the floor or ceiling), so a window
    /// sliding by one sample does not make a threshold-change event on every frame (default 0.01; not in the
    /// config file).
    public var minChange: Float
    /// A class held at its ceiling this long (by frame capture times) raises a drift alarm
    /// (`drift_after`, default 600 s).
    public var driftAfterSeconds: Double

    /// Creates adaptive settings; defaults from the product brief.
    public init(enabled: Bool = false, classes: [String]? = nil, window: Int = 100, minSamples: Int = 10,
                percentile: Double = 90, margin: Float = 0.1, floor: Float? = nil, ceiling: Float = 0.9,
                minChange: Float = 0.01, driftAfterSeconds: Double = 600) {
        self.enabled = enabled; self.classes = classes; self.window = window; self.minSamples = minSamples
        self.percentile = percentile; self.margin = margin; self.floor = floor; self.ceiling = ceiling
        self.minChange = minChange; self.driftAfterSeconds = driftAfterSeconds
    }

    /// True when the class named `className` has an adaptive threshold.
    public func applies(to className: String) -> Bool {
        enabled && (classes?.contains(className) ?? true)
    }

    func validate(classNames: [String], prefix: String) -> [SettingsProblem] {
        var list = ProblemList()
        for (i, name) in (classes ?? []).enumerated() { list.knownClass(name, classNames, "\(prefix).classes[\(i)]") }
        if window < 1 { list.add("\(prefix).window", "must be at least 1, got \(window)") }
        if minSamples < 1 || minSamples > max(window, 1) {
            list.add("\(prefix).min_samples", "must be between 1 and window (\(window)), got \(minSamples)")
        }
        if !(percentile >= 0 && percentile <= 100) {
            list.add("\(prefix).percentile", "must be between 0 and 100, got \(percentile)")
        }
        list.probability(margin, "\(prefix).margin")
        if let floor { list.probability(floor, "\(prefix).floor") }
        list.probability(ceiling, "\(prefix).ceiling")
        list.probability(minChange, "\(prefix).min_change")
        if let floor, floor > ceiling { list.add("\(prefix).floor", "must not exceed ceiling (\(ceiling)), got \(floor)") }
        if !(driftAfterSeconds > 0) {
            list.add("\(prefix).drift_after", "must be above 0 s, got \(driftAfterSeconds) s")
        }
        return list.problems
    }
}
