/// One class's adaptive threshold: a window of the class's highest score on frames judged OK for it.
///
/// threshold = clamp(percentile(window) + margin, floor, ceiling), the floor until `minSamples` exist. When
/// floor > ceiling the floor wins (validation reports that configuration).
struct AdaptiveThreshold {
    let window: Int
    let minSamples: Int
    let percentile: Double
    let margin: Float
    let floor: Float
    let ceiling: Float

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

    /// Restores saved samples (the newest `window` of them).
    mutating func restore(_ saved: [Float]) {
        samples = Array(saved.suffix(window)); next = 0
        recompute()
    }

    private mutating func recompute() {
        guard samples.count >= minSamples else { threshold = floor; atCeiling = false; return }
        sorted.removeAll(keepingCapacity: true)
        sorted.append(contentsOf: samples)
        sorted.sort()
        // Nearest rank: the smallest sample with at least `percentile`% of the window at or below it.
        let rank = Int((percentile / 100 * Double(sorted.count)).rounded(.up))
        let value = sorted[min(max(rank, 1), sorted.count) - 1] + margin
        atCeiling = value >= ceiling && ceiling > floor
        threshold = max(floor, min(value, ceiling))
    }
}
