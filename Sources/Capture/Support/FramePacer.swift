import Foundation

/// The pacing the replay and synthetic sources share: frame n is due at start + n / fps (no drift however
/// late a frame was), and a call to `nextFrame` waits only until its deadline, for the frame to be due and for
/// a pool buffer to come back from the pipeline.
struct FramePacer {
    /// Frames per second; nil delivers as fast as the pipeline takes them.
    let fps: Double?
    let clock: CaptureClock
    private var startedAt: UInt64 = 0

    init(fps: Double?, clock: CaptureClock) {
        self.fps = fps; self.clock = clock
    }

    /// Frame 0 is due now.
    mutating func start() { startedAt = clock.nowNanos() }

    /// Sleeps until frame `index` is due. False when it is due after `deadline`: then it sleeps to the
    /// deadline and the call delivers nothing.
    func waitUntilDue(_ index: UInt64, deadline: UInt64) -> Bool {
        guard let fps else { return true }
        let due = startedAt + UInt64(Double(index) * 1e9 / fps)
        let now = clock.nowNanos()
        if due > now {
            if due > deadline { clock.sleep(nanos: deadline - min(now, deadline)); return false }
            clock.sleep(nanos: due - now)
        }
        return true
    }

    /// A free buffer of `pool`, looking again every millisecond until `deadline` (the pipeline holds every
    /// buffer); nil if none came back in time.
    func takeBuffer(from pool: PixelBufferPool, deadline: UInt64) -> PixelBufferLease? {
        while true {
            if let lease = pool.take() { return lease }
            let now = clock.nowNanos()
            if now >= deadline { return nil }
            clock.sleep(nanos: min(1_000_000, deadline - now))
        }
    }
}
