import Foundation
import Synchronization

/// What `/healthz` and the systemd watchdog judge the daemon by: whether each camera is up, and whether
/// frames that entered the pipeline come out of it.
public final class PipelineHealth: Sendable {
    /// A camera's state as last reported by its source.
    public enum CameraState: String, Sendable, Codable {
        /// Delivering frames.
        case up
        /// Lost its device or stalled; the source is retrying.
        case down
        /// A finite replay delivered everything: idle, not broken.
        case finished
        /// Started, no frame yet.
        case starting
    }

    private struct Camera {
        var state: CameraState
        var since: UInt64
        var reason: String?
    }

    private struct State {
        var cameras: [String: Camera] = [:]
        var accepted: UInt64 = 0
        var finished: UInt64 = 0
        var dropped: UInt64 = 0
        var lastFinish: UInt64
        var finishedAtLastCheck: UInt64 = 0
        var mqttConnected = false
        var mqttEnabled = true
        /// Why the audit database cannot be written, while it cannot.
        var storageProblem: String?
    }

    private let state: Mutex<State>
    private let limits: Mutex<(cameraDown: Duration, stall: Duration)>
    private let clock: @Sendable () -> UInt64

    /// `clock` returns monotonic nanoseconds (injectable for tests).
    public init(cameraDownLimit: Duration, stallLimit: Duration,
                clock: @escaping @Sendable () -> UInt64 = PipelineHealth.monotonicNanos) {
        self.clock = clock
        state = Mutex(State(lastFinish: clock()))
        limits = Mutex((cameraDownLimit, stallLimit))
    }

    /// Applies new limits (config reload).
    public func setLimits(cameraDown: Duration, stall: Duration) { limits.withLock { $0 = (cameraDown, stall) } }

    /// Sets the cameras to watch; cameras no longer listed are forgotten, new ones start as `starting`.
    public func setCameras(_ ids: [String]) {
        let now = clock()
        state.withLock { s in
            s.cameras = Dictionary(uniqueKeysWithValues: ids.map { ($0, s.cameras[$0] ?? Camera(state: .starting, since: now)) })
        }
    }

    /// Records a camera's state change.
    public func camera(_ id: String, _ newState: CameraState, reason: String? = nil) {
        let now = clock()
        state.withLock { s in
            if s.cameras[id]?.state != newState { s.cameras[id] = Camera(state: newState, since: now, reason: reason) }
        }
    }

    /// Why camera `id` is down, or nil while it is not.
    public func downReason(_ id: String) -> String? {
        state.withLock { s in s.cameras[id].flatMap { $0.state == .down ? $0.reason ?? "no reason given" : nil } }
    }

    /// A frame entered a camera queue.
    public func frameAccepted() { state.withLock { $0.accepted &+= 1 } }
    /// A queued frame was dropped (overload).
    public func frameDropped() { state.withLock { $0.dropped &+= 1 } }
    /// A frame was judged and committed.
    public func frameFinished() {
        let now = clock()
        state.withLock { $0.finished &+= 1; $0.lastFinish = now }
    }
    /// MQTT connection state (`enabled: false` → not part of health).
    public func mqtt(enabled: Bool, connected: Bool) {
        state.withLock { $0.mqttEnabled = enabled; $0.mqttConnected = connected }
    }

    /// The audit database cannot be written (`problem`), or can again (nil). While it cannot, `/healthz` fails.
    public func storage(problem: String?) { state.withLock { $0.storageProblem = problem } }

    /// Why the audit database cannot be written, or nil.
    public var storageProblem: String? { state.withLock { $0.storageProblem } }

    /// Frames accepted that have neither finished nor been dropped.
    public var framesInFlight: UInt64 { state.withLock { $0.accepted &- $0.finished &- $0.dropped } }

    /// For the watchdog, once per period: true when frames finished since the last call, or none is waiting
    /// (sources idle or cameras down: a restart would not help).
    public func isMakingProgress() -> Bool {
        state.withLock { s in
            let progressed = s.finished != s.finishedAtLastCheck
            s.finishedAtLastCheck = s.finished
            return progressed || s.accepted &- s.finished &- s.dropped == 0
        }
    }

    /// The `/healthz` document.
    public struct Report: Codable, Sendable, Equatable {
        /// `ok` or `failing`.
        public var status: String
        /// Why it is failing, one line each.
        public var problems: [String]
        /// Per camera: state and seconds in it.
        public var cameras: [String: CameraReport]
        public var framesProcessed: UInt64
        public var framesInFlight: UInt64
        public var framesDropped: UInt64
        /// Seconds since the last frame finished.
        public var secondsSinceLastFrame: Double
        /// nil when MQTT is disabled.
        public var mqttConnected: Bool?

        enum CodingKeys: String, CodingKey {
            case status, problems, cameras
            case framesProcessed = "frames_processed", framesInFlight = "frames_in_flight"
            case framesDropped = "frames_dropped", secondsSinceLastFrame = "seconds_since_last_frame"
            case mqttConnected = "mqtt_connected"
        }
    }

    /// A camera in the report.
    public struct CameraReport: Codable, Sendable, Equatable {
        public var state: CameraState
        public var seconds: Double
        public var reason: String?
    }

    /// The current report; `status` is `failing` when a camera has been down (or never up) longer than the
    /// limit, frames are waiting but none finished within the stall limit, or the audit database cannot be
    /// written.
    public func report() -> Report {
        let now = clock()
        let (cameraDownLimit, stallLimit) = limits.withLock { $0 }
        return state.withLock { s in
            var problems: [String] = []
            var cameras: [String: CameraReport] = [:]
            for (id, c) in s.cameras.sorted(by: { $0.key < $1.key }) {
                let seconds = Double(now &- c.since) / 1e9
                cameras[id] = CameraReport(state: c.state, seconds: seconds, reason: c.reason)
                if (c.state == .down || c.state == .starting) && seconds > cameraDownLimit.seconds {
                    problems.append("camera \(id) \(c.state == .down ? "down" : "not up") for \(Int(seconds)) s"
                                    + (c.reason.map { ": \($0)" } ?? ""))
                }
            }
            if let storage = s.storageProblem {
                problems.append("audit database not writable (records held in the spill): \(storage)")
            }
            let inFlight = s.accepted &- s.finished &- s.dropped
            let sinceLast = Double(now &- s.lastFinish) / 1e9
            if inFlight > 0 && sinceLast > stallLimit.seconds {
                problems.append("pipeline stalled: \(inFlight) frames waiting, none finished for \(Int(sinceLast)) s")
            }
            return Report(status: problems.isEmpty ? "ok" : "failing", problems: problems, cameras: cameras,
                          framesProcessed: s.finished, framesInFlight: inFlight, framesDropped: s.dropped,
                          secondsSinceLastFrame: sinceLast, mqttConnected: s.mqttEnabled ? s.mqttConnected : nil)
        }
    }

    /// CLOCK_MONOTONIC in nanoseconds (the clock frames are stamped with).
    @Sendable public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
