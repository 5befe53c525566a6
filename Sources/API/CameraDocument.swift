/// One camera in `GET /api/v1/cameras` and `GET /api/v1/cameras/{id}`.
public struct CameraDocument: Codable, Sendable, Equatable {
    /// Where its frames come from, as configured.
    public struct Source: Codable, Sendable, Equatable {
        /// `v4l2`, `replay` or `synthetic`.
        public var type: String
        /// The V4L2 device, the replay files; nil for a synthetic camera.
        public var location: String?
        /// Configured frame width and height (nil for replay: the files' own).
        public var width: Int?
        public var height: Int?
        /// Configured frames per second (0 for replay as fast as possible).
        public var fps: Double
        /// Plain memberwise initializer.
        public init(type: String, location: String?, width: Int?, height: Int?, fps: Double) {
            self.type = type; self.location = location; self.width = width; self.height = height; self.fps = fps
        }
    }

    /// A class's threshold (a list, not a map: class names are data, not field names).
    public struct Threshold: Codable, Sendable, Equatable {
        /// Class name.
        public var className: String
        /// Confidence at or above which a detection of the class counts.
        public var threshold: Double
        enum CodingKeys: String, CodingKey { case className = "class", threshold }
        /// Plain memberwise initializer.
        public init(className: String, threshold: Double) { self.className = className; self.threshold = threshold }
    }

    /// Camera id (`cameras[].id`).
    public var id: String
    /// `up`, `down`, `starting` or `finished` (a replay that delivered everything).
    public var state: String
    /// Seconds in that state.
    public var stateSeconds: Double
    /// Why it is down, when it is.
    public var reason: String?
    public var source: Source
    /// Counters since the daemon started.
    public var framesCaptured: Int
    public var framesProcessed: Int
    public var framesDropped: Int
    public var ngFrames: Int
    /// Frames waiting for a worker now, and the queue's capacity.
    public var queueDepth: Int
    public var queueSize: Int
    /// Confidence threshold in force per class (adaptive thresholds with their current value), by class name.
    public var thresholds: [Threshold]
    /// What the source actually delivers, once known (nil before its first frame, or for V4L2 before the driver
    /// answered): for V4L2 what the driver agreed to, which may differ from the configured `source`.
    public var negotiated: Negotiated? = nil
    /// `free_run` (every frame is judged) or `software` (a frame per trigger: `POST /api/v1/cameras/{id}/trigger`).
    public var trigger: String = "free_run"

    /// The format, size and rate a source delivers.
    public struct Negotiated: Codable, Sendable, Equatable {
        /// V4L2: the driver's pixel format (`MJPEG`, `YUYV`, `NV12`, `GREY`); replay and synthetic: the frames'
        /// layout (`jpeg`, `gray8`, `rgb24`).
        public var format: String
        public var width: Int
        public var height: Int
        /// V4L2: the frame rate the driver set (0: it sets none); replay and synthetic: the configured pacing.
        public var fps: Double
        /// V4L2 only: the driver buffers granted.
        public var driverBuffers: Int?
        /// Plain memberwise initializer.
        public init(format: String, width: Int, height: Int, fps: Double, driverBuffers: Int?) {
            self.format = format; self.width = width; self.height = height; self.fps = fps
            self.driverBuffers = driverBuffers
        }
    }

    /// Plain memberwise initializer.
    public init(id: String, state: String, stateSeconds: Double, reason: String?, source: Source, framesCaptured: Int,
                framesProcessed: Int, framesDropped: Int, ngFrames: Int, queueDepth: Int, queueSize: Int,
                thresholds: [Threshold]) {
        self.id = id; self.state = state; self.stateSeconds = stateSeconds; self.reason = reason; self.source = source
        self.framesCaptured = framesCaptured; self.framesProcessed = framesProcessed; self.framesDropped = framesDropped
        self.ngFrames = ngFrames; self.queueDepth = queueDepth; self.queueSize = queueSize; self.thresholds = thresholds
    }
}
