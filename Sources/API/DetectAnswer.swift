/// `POST /api/v1/detect`: what one image gave. Confidences and boxes are the engine's own `Float`s, so they
/// read exactly as `inspectd detect` prints them.
public struct DetectAnswer: Codable, Sendable, Equatable {
    /// One defect: a detection at or above the threshold in force for its class.
    public struct Defect: Codable, Sendable, Equatable {
        public var classID: Int
        public var className: String
        public var confidence: Float
        /// The threshold in force for the class.
        public var threshold: Float
        /// [x1, y1, x2, y2] in the image's own pixels.
        public var box: [Float]
        enum CodingKeys: String, CodingKey { case classID = "class_id", className = "class", confidence, threshold, box }
        /// Plain memberwise initializer.
        public init(classID: Int, className: String, confidence: Float, threshold: Float, box: [Float]) {
            self.classID = classID; self.className = className; self.confidence = confidence
            self.threshold = threshold; self.box = box
        }
    }

    /// Milliseconds spent in each stage.
    public struct Latency: Codable, Sendable, Equatable {
        /// Waiting in the request queue for a worker.
        public var queue: Double
        public var preprocess: Double
        public var inference: Double
        public var postprocess: Double
        /// From the image read to the answer.
        public var total: Double
        /// Plain memberwise initializer.
        public init(queue: Double, preprocess: Double, inference: Double, postprocess: Double, total: Double) {
            self.queue = queue; self.preprocess = preprocess; self.inference = inference
            self.postprocess = postprocess; self.total = total
        }
    }

    /// `OK` or `NG`.
    public var verdict: String
    /// The camera whose rules were applied, or nil for the `detection` section's.
    public var camera: String?
    /// The image's size in pixels.
    public var width: Int
    public var height: Int
    /// The model: file name and SHA-256.
    public var model: String
    public var modelSha256: String
    public var defects: [Defect]
    public var latencyMs: Latency
    /// With `record=true`: the inspection's id in the audit database (`inspections.id`); nil when the record
    /// was not committed within 10 s (the database failing: it is held and written later).
    public var auditId: Int64? = nil

    /// Plain memberwise initializer.
    public init(verdict: String, camera: String?, width: Int, height: Int, model: String, modelSha256: String,
                defects: [Defect], latencyMs: Latency) {
        self.verdict = verdict; self.camera = camera; self.width = width; self.height = height; self.model = model
        self.modelSha256 = modelSha256; self.defects = defects; self.latencyMs = latencyMs
    }
}
