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
        /// `/api/v1/cameras`: whether the threshold adapts (`detection.adaptive`; its recent values:
        /// `GET /api/v1/cameras/{id}/thresholds`). Left out elsewhere (an inspection's thresholds).
        public var adaptive: Bool?
        enum CodingKeys: String, CodingKey { case className = "class", threshold, adaptive }
        /// Plain memberwise initializer.
        public init(className: String, threshold: Double, adaptive: Bool? = nil) {
            self.className = className; self.threshold = threshold; self.adaptive = adaptive
        }
    }

    /// A V4L2 camera's control as its driver reports it (read-only here: inspectd sets controls from the config).
    public struct Control: Codable, Sendable, Equatable {
        /// The driver's name (e.g. "Exposure Time, Absolute").
        public var name: String
        /// The V4L2 control id.
        public var id: UInt32
        /// `integer`, `boolean`, `menu`, `integer_menu`, `integer64` or `bitmask`.
        public var type: String
        /// The value now (nil when the driver does not give it).
        public var value: Int?
        public var minimum: Int
        public var maximum: Int
        public var step: Int
        /// The driver's default.
        public var defaultValue: Int
        /// Inactive now (e.g. the manual exposure while auto exposure is on).
        public var inactive: Bool
        enum CodingKeys: String, CodingKey {
            case name, id, type, value, minimum, maximum, step, defaultValue = "default", inactive
        }
        /// Plain memberwise initializer.
        public init(name: String, id: UInt32, type: String, value: Int?, minimum: Int, maximum: Int, step: Int,
                    defaultValue: Int, inactive: Bool) {
            self.name = name; self.id = id; self.type = type; self.value = value; self.minimum = minimum
            self.maximum = maximum; self.step = step; self.defaultValue = defaultValue; self.inactive = inactive
        }

        public func encode(to encoder: any Encoder) throws {
            // `value` is written as null rather than left out: every control has the same keys.
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name); try c.encode(id, forKey: .id); try c.encode(type, forKey: .type)
            try c.encode(value, forKey: .value); try c.encode(minimum, forKey: .minimum)
            try c.encode(maximum, forKey: .maximum); try c.encode(step, forKey: .step)
            try c.encode(defaultValue, forKey: .defaultValue); try c.encode(inactive, forKey: .inactive)
        }
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
    /// A V4L2 camera's controls as the driver reported them last (read after every open, then every 2 s);
    /// empty for replay and synthetic sources and while a V4L2 camera is not open.
    public var controls: [Control] = []

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
