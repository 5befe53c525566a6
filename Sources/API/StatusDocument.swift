/// `GET /api/v1/status`: what runs here and how it is doing. Field names are snake_case on the wire, as in the
/// MQTT payloads.
public struct StatusDocument: Codable, Sendable, Equatable {
    /// The model in use.
    public struct Model: Codable, Sendable, Equatable {
        /// File name of the ONNX model.
        public var name: String
        /// SHA-256 of the model file (recorded with every inspection).
        public var sha256: String
        /// The engine's input as [height, width].
        public var inputSize: [Int]
        /// Class names, in the model's order.
        public var classes: [String]
        /// INT8 (QDQ) model or FP32.
        public var quantized: Bool
        /// Plain memberwise initializer.
        public init(name: String, sha256: String, inputSize: [Int], classes: [String], quantized: Bool) {
            self.name = name; self.sha256 = sha256; self.inputSize = inputSize; self.classes = classes
            self.quantized = quantized
        }
    }

    /// The MQTT side: connection and the outbox of messages not yet acknowledged.
    public struct MQTT: Codable, Sendable, Equatable {
        /// `mqtt.enabled` of the config.
        public var enabled: Bool
        /// Connected to the broker now (false when disabled).
        public var connected: Bool
        /// Messages waiting in the outbox for the broker's acknowledgement.
        public var outboxBacklog: Int
        /// Seconds since the oldest of them was created (absent when none waits or the database cannot be read).
        public var oldestPendingAgeSeconds: Double?
        /// Plain memberwise initializer.
        public init(enabled: Bool, connected: Bool, outboxBacklog: Int, oldestPendingAgeSeconds: Double? = nil) {
            self.enabled = enabled; self.connected = connected; self.outboxBacklog = outboxBacklog
            self.oldestPendingAgeSeconds = oldestPendingAgeSeconds
        }
    }

    /// The audit database.
    public struct Audit: Codable, Sendable, Equatable {
        /// Its file.
        public var path: String
        /// Bytes on disk (database and write-ahead log).
        public var bytes: Int
        /// Why it cannot be written now, or nil when it can.
        public var problem: String?
        /// Plain memberwise initializer.
        public init(path: String, bytes: Int, problem: String?) { self.path = path; self.bytes = bytes; self.problem = problem }
    }

    /// The snapshot directory (`snapshots`).
    public struct Snapshots: Codable, Sendable, Equatable {
        /// `snapshots.enabled`.
        public var enabled: Bool
        /// `snapshots.dir`.
        public var path: String
        /// Bytes of the JPEGs in it now.
        public var bytes: Int
        /// `snapshots.cap_mb` in bytes: the oldest are deleted beyond it.
        public var capBytes: Int
        /// Plain memberwise initializer.
        public init(enabled: Bool, path: String, bytes: Int, capBytes: Int) {
            self.enabled = enabled; self.path = path; self.bytes = bytes; self.capBytes = capBytes
        }
    }

    /// Release version (`dev` for a plain build).
    public var version: String
    /// Git commit of the build.
    public var commit: String
    /// Build date.
    public var buildDate: String
    /// `site.line`.
    public var line: String
    /// `site.station`.
    public var station: String
    /// SHA-256 of the config file in force.
    public var configRevision: String
    /// Seconds since the daemon started.
    public var uptimeSeconds: Double
    /// `ok` or `failing`, as `/healthz` says.
    public var health: String
    /// Why it is failing, one line each (empty when `ok`).
    public var problems: [String]
    public var model: Model
    /// Inference workers in the pool.
    public var workers: Int
    /// Threads inside one inference.
    public var threadsPerWorker: Int
    public var mqtt: MQTT
    public var audit: Audit
    /// The snapshot directory and its disk use (absent before the config is loaded).
    public var snapshots: Snapshots?
    /// Cameras configured.
    public var cameras: Int

    /// Plain memberwise initializer.
    public init(version: String, commit: String, buildDate: String, line: String, station: String,
                configRevision: String, uptimeSeconds: Double, health: String, problems: [String], model: Model,
                workers: Int, threadsPerWorker: Int, mqtt: MQTT, audit: Audit, cameras: Int,
                snapshots: Snapshots? = nil) {
        self.version = version; self.commit = commit; self.buildDate = buildDate; self.line = line
        self.station = station; self.configRevision = configRevision; self.uptimeSeconds = uptimeSeconds
        self.health = health; self.problems = problems; self.model = model; self.workers = workers
        self.threadsPerWorker = threadsPerWorker; self.mqtt = mqtt; self.audit = audit; self.cameras = cameras
        self.snapshots = snapshots
    }
}
