import Foundation
import Synchronization

/// One camera's counters over the current stats interval (for `{prefix}/stats` and the periodic log line).
/// Latencies go to a fixed ring, so the p99 costs no allocation per frame.
final class CameraStats: Sendable {
    /// The interval's figures.
    struct Interval {
        var frames = 0, ng = 0, dropped = 0
        var latencyMean = 0.0, latencyP99 = 0.0
    }

    private struct State {
        var frames = 0, ng = 0, dropped = 0
        var latencySum = 0.0
        var ring = [Double](repeating: 0, count: 1024)
        var ringCount = 0
    }

    private let state = Mutex(State())

    /// Records a judged frame.
    func frame(latencyMillis: Double, ng: Bool) {
        state.withLock { s in
            s.frames += 1
            if ng { s.ng += 1 }
            s.latencySum += latencyMillis
            s.ring[s.ringCount % s.ring.count] = latencyMillis
            s.ringCount += 1
        }
    }

    /// Records dropped frames.
    func dropped(_ n: Int) { state.withLock { $0.dropped += n } }

    /// The figures since the last call, and starts a new interval.
    func take() -> Interval {
        state.withLock { s in
            let n = min(s.ringCount, s.ring.count)
            let sorted = s.ring[0..<n].sorted()
            let p99 = n == 0 ? 0 : sorted[min(n - 1, Int((Double(n) * 0.99).rounded(.up)) - 1)]
            let interval = Interval(frames: s.frames, ng: s.ng, dropped: s.dropped,
                                    latencyMean: s.frames == 0 ? 0 : s.latencySum / Double(s.frames), latencyP99: p99)
            s = State(ring: s.ring)
            return interval
        }
    }
}
