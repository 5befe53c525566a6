import Delivery
import Detection
import Foundation

/// What one trigger gave, as every transport answers it (HTTP body, MQTT result, Modbus registers): the part's
/// judged inspection, or why there is none.
struct TriggerResult: Sendable {
    /// Why a trigger has no verdict.
    enum Failure: String, Sendable {
        /// No frame was inspected within the camera's `trigger.timeout`.
        case timeout = "trigger_timeout"
        /// The same, while the camera was down (unplugged, failing to stream): the reason names why.
        case cameraDown = "camera_down"
        /// `trigger.queue` triggers were already waiting.
        case queueFull = "trigger_queue_full"
        /// The frame was taken but could not be judged (undecodable, not aligned to its golden image, ...).
        case inspectionFailed = "inspection_failed"
        /// The camera was removed by a reload, or the station is stopping.
        case stopping = "stopping"
    }

    var camera: String
    var part: PartFields
    /// The judged inspection (nil with a failure).
    var inspection: Inspection?
    /// The inspected frame's sequence number (0 when no frame was taken).
    var sequence: UInt64
    var failure: Failure?
    /// The failure's explanation (empty without one).
    var message: String
    /// From the trigger's arrival to its result.
    var latencyNanos: UInt64

    /// `OK`, `NG` or `ERROR`.
    var verdict: String {
        guard failure == nil, let inspection else { return "ERROR" }
        return inspection.verdict == .ng ? "NG" : "OK"
    }
}
