/// `{prefix}/stats`: periodic counters (schema `inspectd.stats/1`).
public struct StatsPayload: Codable, Sendable, Equatable {
    /// Counters of one camera over the interval.
    public struct Camera: Codable, Sendable, Equatable {
        /// Camera id.
        public var camera: String
        /// `up` or `down`.
        public var state: String
        /// Frames judged in the interval.
        public var frames: Int
        /// NG frames in the interval.
        public var ngFrames: Int
        /// Frames dropped (driver gaps or full queues) in the interval.
        public var droppedFrames: Int
        /// Judged frames per second.
        public var fps: Double
        /// Mean capture → verdict latency.
        public var latencyMsMean: Double
        /// 99th percentile capture → verdict latency.
        public var latencyMsP99: Double
        /// Creates camera counters.
        public init(camera: String, state: String, frames: Int, ngFrames: Int, droppedFrames: Int, fps: Double,
                    latencyMsMean: Double, latencyMsP99: Double) {
            self.camera = camera; self.state = state; self.frames = frames; self.ngFrames = ngFrames
            self.droppedFrames = droppedFrames; self.fps = fps; self.latencyMsMean = latencyMsMean
            self.latencyMsP99 = latencyMsP99
        }
    }
    /// `inspectd.stats/1`.
    public var schema: String
    /// Unique per message.
    public var eventId: String
    /// End of the interval (UTC, ms).
    public var timestamp: String
    /// Line id.
    public var line: String
    /// Station id.
    public var station: String
    /// Interval length.
    public var intervalS: Double
    /// Seconds since the daemon started.
    public var uptimeS: Double
    /// Per-camera counters.
    public var cameras: [Camera]
    /// Undelivered outbox messages.
    public var outboxBacklog: Int
}
