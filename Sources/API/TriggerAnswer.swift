/// `POST /api/v1/cameras/{id}/trigger`: the triggered part's inspection, with the same field names as the MQTT
/// result payload (`inspectd.result/1`).
public struct TriggerAnswer: Codable, Sendable, Equatable {
    public var camera: String
    /// The part, as the trigger named it.
    public var partId: String
    public var lot: String?
    public var order: String?
    public var recipe: String?
    public var triggerId: String?
    /// `OK`, `NG`, or `ERROR` (the frame taken for the part could not be judged: `error` says why).
    public var verdict: String
    /// Why there is no OK/NG verdict (absent otherwise).
    public var error: String?
    /// The inspected frame's sequence number (0 when no frame was judged).
    public var sequence: UInt64
    public var defects: [DetectAnswer.Defect]
    /// From the trigger's arrival to its result.
    public var latencyMs: Double

    /// Plain memberwise initializer.
    public init(camera: String, partId: String, lot: String?, order: String?, recipe: String?, triggerId: String?,
                verdict: String, error: String?, sequence: UInt64, defects: [DetectAnswer.Defect], latencyMs: Double) {
        self.camera = camera; self.partId = partId; self.lot = lot; self.order = order; self.recipe = recipe
        self.triggerId = triggerId; self.verdict = verdict; self.error = error; self.sequence = sequence
        self.defects = defects; self.latencyMs = latencyMs
    }
}
