/// One class's adaptive threshold: a window of the class's highest score on frames judged OK for it.
///
/// threshold = clamp(percentile(window) + margin, floor, ceiling), the floor until `minSamples` exist. When
/// floor > ceiling the floor wins (validation reports that configuration). The threshold in force follows
/// that target in steps of at least `minChange`.
struct AdaptiveThreshold {
    let window: Int
    let minSamples: Int
    let percentile: Double
    let margin: Float
    let floor: Float
    let ceiling: Float
    let minChange: Float

    /// Ring buffer of samples; `next` is where the next sample goes once full.
    private(set) var samples: [Float] = []
    private var next = 0
    /// Sorted copy, reused to avoid allocating per frame.
    private var sorted: [Float] = []
    /// Threshold in force.
    private(set) var threshold: Float
    /// True when percentile + margin reached the ceiling (the class is pinned there).
    private(set) var atCeiling = false

    init(settings: AdaptiveSettings, base: Float) {
        window = max(1, settings.window)
        minSamples = max(1, settings.minSamples)
        percentile = settings.percentile
        margin = settings.margin
        floor = settings.floor ?? base
        ceiling = settings.ceiling
        minChange = settings.minChange
        threshold = floor
        samples.reserveCapacity(window)
        sorted.reserveCapacity(window)
    }

    /// Samples oldest first.
    var samplesInOrder: [Float] {
        samples.count < window ? samples : Array(samples[next...] + samples[..<next])
    }

    /// Adds the highest score of an OK frame and recomputes the threshold.
    mutating func add(_ sample: Float) {
        if samples.count < window { samples.append(sample) } else { samples[next] = sample; next = (next + 1) % window }
        recompute()
    }

    /// Restores saved samples (the newest `window` of them) and the threshold that was in force, unless the
    /// samples under the current settings call for a move of at least `minChange`.
    mutating func restore(_ saved: [Float], threshold savedThreshold: Float) {
        samples = Array(saved.suffix(window)); next = 0
        threshold = savedThreshold.isFinite ? savedThreshold : floor
        recompute()
    }

    private mutating func recompute() {
        let target = targetThreshold()
        if abs(target - threshold) >= minChange || target == floor || target == ceiling { threshold = target }
    }

    private mutating func targetThreshold() -> Float {
        guard samples.count >= minSamples else { atCeiling = false; return floor }
        sorted.removeAll(keepingCapacity: true)
        sorted.append(contentsOf: samples)
        sorted.sort()
        // Nearest rank: the smallest sample with at least `percentile`% of the window at or below it.
        let rank = Int((percentile / 100 * Double(sorted.count)).rounded(.up))
        let value = sorted[min(max(rank, 1), sorted.count) - 1] + margin
        atCeiling = value >= ceiling && ceiling > floor
        return max(floor, min(value, ceiling))
    }
}
