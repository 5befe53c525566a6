import Delivery
import Foundation
import Synchronization

/// One triggered camera's triggers: those waiting for a frame, in arrival order and bounded (`trigger.queue`),
/// and those whose frame is being inspected. The capture thread claims the oldest waiting trigger for the first
/// frame captured at or after its `notBefore`, so a frame buffered before the trigger is never taken for it.
/// Also remembers the last results by `trigger_id`, so a retried trigger gets the first one's answer instead of
/// a second inspection.
final class TriggerBook: Sendable {
    let camera: String
    let settings: CameraConfig.Trigger
    /// How many finished results stay findable by `trigger_id`.
    static let rememberedResults = 256
    /// A claimed trigger whose frame has not been judged after this long is failed (a frame lost in a way that
    /// did not report it must not leave its part waiting for ever).
    static let inspectionGrace: UInt64 = 60_000_000_000

    private struct State {
        var waiting: [PendingTrigger] = []
        var claimed: [(trigger: PendingTrigger, at: UInt64)] = []
        var byTriggerID: [String: PendingTrigger] = [:]
        var recentOrder: [String] = []
        var closed = false
    }
    private let state = Mutex(State())

    init(camera: String, settings: CameraConfig.Trigger) {
        self.camera = camera; self.settings = settings
    }

    /// What `submit` did.
    enum Admission {
        /// Waiting for a frame.
        case queued(PendingTrigger)
        /// A retry of a trigger id still pending or recently finished: the caller waits on that one.
        case repeated(PendingTrigger)
        /// Not accepted (queue full or closed); the trigger is returned unfinished, for the caller to fail.
        case refused(PendingTrigger, TriggerResult.Failure)
    }

    /// Takes in a trigger that arrived at `now` (monotonic ns).
    func submit(_ part: PartFields, now: UInt64) -> Admission {
        let trigger = PendingTrigger(camera: camera, part: part, arrivedAt: now, settings: settings)
        return state.withLock { s in
            if let id = part.triggerID, let earlier = s.byTriggerID[id] { return .repeated(earlier) }
            if s.closed { return .refused(trigger, .stopping) }
            guard s.waiting.count < settings.queue else { return .refused(trigger, .queueFull) }
            s.waiting.append(trigger)
            if let id = part.triggerID {
                s.byTriggerID[id] = trigger
                s.recentOrder.append(id)
                if s.recentOrder.count > Self.rememberedResults {
                    let evicted = s.recentOrder.removeFirst()
                    if s.byTriggerID[evicted]?.isFinished == true { s.byTriggerID[evicted] = nil }
                }
            }
            return .queued(trigger)
        }
    }

    /// The trigger a frame captured at `frameNanos` is for: the oldest waiting one whose `notBefore` it is at or
    /// after (it moves to the claimed ones); nil when none (the frame is not inspected).
    func claim(frameNanos: UInt64, now: UInt64) -> PendingTrigger? {
        state.withLock { s in
            guard let first = s.waiting.first, frameNanos >= first.notBefore else { return nil }
            s.waiting.removeFirst()
            s.claimed.append((first, now))
            return first
        }
    }

    /// Whether a trigger waits whose `notBefore` has come (a source that makes frames on demand is asked then).
    func hasDue(now: UInt64) -> Bool { state.withLock { ($0.waiting.first?.notBefore ?? .max) <= now } }

    /// Takes out a claimed trigger once its frame is judged (or failed).
    func release(_ trigger: PendingTrigger) {
        state.withLock { s in s.claimed.removeAll { $0.trigger === trigger } }
    }

    /// Takes out the triggers that are past their deadline: waiting ones past `deadline`, claimed ones whose
    /// frame is not judged after `inspectionGrace`. The caller fails them.
    func expired(now: UInt64) -> [PendingTrigger] {
        state.withLock { s in
            var out: [PendingTrigger] = []
            s.waiting.removeAll { t in
                guard now > t.deadline else { return false }
                out.append(t); return true
            }
            s.claimed.removeAll { c in
                guard now &- c.at > Self.inspectionGrace else { return false }
                out.append(c.trigger); return true
            }
            return out
        }
    }

    /// Refuses new triggers and takes out every unfinished one (the camera is removed or the station stops):
    /// the caller fails them.
    func close() -> [PendingTrigger] {
        state.withLock { s in
            s.closed = true
            let out = s.waiting + s.claimed.map(\.trigger)
            s.waiting = []; s.claimed = []
            return out
        }
    }
}
