import Capture
import Foundation

/// The bounded queues between the capture threads and the worker pool: one ring of fixed capacity per camera,
/// drained round-robin so a busy camera cannot starve the others. Nothing here grows with load: a full queue
/// drops its oldest frame (live cameras) or makes capture wait (replay), per the camera's overload policy.
/// Images sent to the HTTP API (`POST /api/v1/detect`) wait in one more bounded queue, taken in turn like a
/// camera's: the API gets at most its share of the workers, and a full request queue refuses at once.
///
/// `@unchecked Sendable`: all state is guarded by `condition`.
final class FrameQueues: @unchecked Sendable {
    /// A frame taken by a worker, with its camera's processing ticket (0, 1, 2… in dequeue order), which the
    /// in-order stage uses to judge each camera's frames in sequence.
    struct Job {
        var frame: Frame
        var ticket: UInt64
        /// Which incarnation of the camera's queue the frame came from (a camera removed and added again on
        /// reload gets a new one, with tickets from 0).
        var generation: UInt64
        /// When the frame entered the queue (monotonic ns), for the queue-wait latency.
        var enqueuedAt: UInt64
        /// The trigger the frame was taken for (a camera in `trigger.mode: software`).
        var trigger: PendingTrigger?
    }

    /// A queued frame.
    private struct Slot {
        var frame: Frame
        var at: UInt64
        var trigger: PendingTrigger?
    }

    /// What a worker takes: a camera's frame or an API image.
    enum Work {
        case frame(Job)
        case request(DetectRequest)
        /// The frame, when it is one.
        var job: Job? { if case .frame(let j) = self { j } else { nil } }
    }

    /// What happened to a pushed frame.
    enum PushResult {
        /// Queued.
        case queued
        /// Queued, and this older frame (with its trigger, if any) was dropped to make room (its buffer goes back
        /// to its pool with it).
        case droppedOldest(Frame, PendingTrigger?)
        /// Not queued: the queues are closed (shutting down) or the camera was removed.
        case rejected(Frame)
    }

    private struct Ring {
        var id: String
        var policy: CameraConfig.OverloadPolicy
        var slots: [Slot?]
        var head = 0
        var count = 0
        var nextTicket: UInt64 = 0
        var generation: UInt64 = 0
        var capacity: Int { slots.count }
    }

    private let condition = NSCondition()
    private var rings: [Ring] = []
    private var closed = false
    private var nextRing = 0
    private var generations: UInt64 = 0
    private var requests: [DetectRequest] = []
    private var requestCapacity = 4

    /// A fresh queue incarnation number, for a camera lane built before its queue exists (reload builds the
    /// new lanes beside the running ones and attaches them in one step).
    func newGeneration() -> UInt64 {
        condition.lock(); defer { condition.unlock() }
        generations += 1
        return generations
    }

    /// Adds a camera's queue (or changes its capacity and policy, keeping the newest frames that fit).
    /// With `generation`, the queue is a new incarnation numbered so (see `newGeneration`): a queue left
    /// under the same id is replaced and its frames returned. Returns frames that no longer fit, to count as dropped.
    @discardableResult
    func setCamera(_ id: String, capacity: Int, policy: CameraConfig.OverloadPolicy, generation: UInt64? = nil) -> [Frame] {
        condition.lock(); defer { condition.broadcast(); condition.unlock() }
        var ring = Ring(id: id, policy: policy, slots: Array(repeating: nil, count: max(1, capacity)))
        var evicted: [Frame] = []
        if let generation {
            if let i = rings.firstIndex(where: { $0.id == id }) {
                var old = rings.remove(at: i)
                while let item = Self.popFront(&old) { evicted.append(item.frame) }
            }
            ring.generation = generation
            rings.append(ring)
        } else if let i = rings.firstIndex(where: { $0.id == id }) {
            var old = rings[i]
            ring.nextTicket = old.nextTicket
            ring.generation = old.generation
            while let item = Self.popFront(&old) {
                if ring.count == ring.capacity, let dropped = Self.popFront(&ring) { evicted.append(dropped.frame) }
                Self.pushBack(&ring, item)
            }
            rings[i] = ring
        } else {
            generations += 1
            ring.generation = generations
            rings.append(ring)
        }
        return evicted
    }

    /// The incarnation of camera `id`'s queue (see `Job.generation`).
    func generation(of id: String) -> UInt64? {
        condition.lock(); defer { condition.unlock() }
        return rings.first { $0.id == id }?.generation
    }

    /// The next processing ticket of camera `id`'s queue incarnation `generation`, for an image that joins the
    /// camera's frames without passing through its queue (`POST /api/v1/detect?record=true`); nil when the queues
    /// are closed or the camera has no such queue (removed or replaced by a reload).
    func ticket(for id: String, generation: UInt64) -> UInt64? {
        condition.lock(); defer { condition.unlock() }
        guard !closed, let i = rings.firstIndex(where: { $0.id == id && $0.generation == generation }) else { return nil }
        defer { rings[i].nextTicket += 1 }
        return rings[i].nextTicket
    }

    /// Removes a camera's queue; returns its waiting frames, to count as dropped.
    func removeCamera(_ id: String) -> [Frame] {
        condition.lock(); defer { condition.broadcast(); condition.unlock() }
        guard let i = rings.firstIndex(where: { $0.id == id }) else { return [] }
        var ring = rings.remove(at: i)
        var frames: [Frame] = []
        while let item = Self.popFront(&ring) { frames.append(item.frame) }
        return frames
    }

    /// Queues a frame for its camera; with the `block` policy waits for room, until closed, or until
    /// `shouldStop` is true on waking (its capture is stopping; see `interrupt`).
    func push(_ frame: Frame, trigger: PendingTrigger? = nil, now: UInt64, shouldStop: () -> Bool = { false }) -> PushResult {
        condition.lock(); defer { condition.unlock() }
        while true {
            guard !closed, !shouldStop(), let i = rings.firstIndex(where: { $0.id == frame.cameraID }) else { return .rejected(frame) }
            if rings[i].count < rings[i].capacity {
                Self.pushBack(&rings[i], Slot(frame: frame, at: now, trigger: trigger))
                condition.broadcast()
                return .queued
            }
            if rings[i].policy == .dropOldest, let oldest = Self.popFront(&rings[i]) {
                Self.pushBack(&rings[i], Slot(frame: frame, at: now, trigger: trigger))
                condition.broadcast()
                return .droppedOldest(oldest.frame, oldest.trigger)
            }
            condition.wait()
        }
    }

    /// How many API images may wait (`http.detect_queue`).
    func setRequestCapacity(_ capacity: Int) {
        condition.lock(); requestCapacity = max(1, capacity); condition.unlock()
    }

    /// Queues an API image for the workers; false when `http.detect_queue` images already wait or the queues
    /// are closed (the request is then not kept).
    func submit(_ request: DetectRequest) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard !closed, requests.count < requestCapacity else { return false }
        requests.append(request)
        condition.broadcast()
        return true
    }

    /// The API images still waiting, taken out (shutdown: they are answered 503).
    func takeRequests() -> [DetectRequest] {
        condition.lock(); defer { condition.unlock() }
        let waiting = requests
        requests = []
        return waiting
    }

    /// The next work for a worker, the cameras and the API's requests taken in turn; waits while all queues are
    /// empty. Returns nil once the queues are closed and empty (what was queued before `close` is still handed
    /// out: drain), or when `shouldStop` is true on waking (a worker leaving the pool; see `interrupt`).
    func pop(shouldStop: () -> Bool = { false }) -> Work? {
        condition.lock(); defer { condition.unlock() }
        while true {
            if shouldStop() { return nil }
            let turns = rings.count + 1  // the last turn is the API's
            for k in 0..<turns {
                let i = (nextRing + k) % turns
                if i == rings.count {
                    guard !requests.isEmpty else { continue }
                    nextRing = 0
                    condition.broadcast()
                    return .request(requests.removeFirst())
                }
                if let item = Self.popFront(&rings[i]) {
                    let ticket = rings[i].nextTicket
                    rings[i].nextTicket += 1
                    nextRing = (i + 1) % turns
                    condition.broadcast()
                    return .frame(Job(frame: item.frame, ticket: ticket, generation: rings[i].generation, enqueuedAt: item.at,
                                      trigger: item.trigger))
                }
            }
            if closed { return nil }
            condition.wait()
        }
    }

    /// Frames waiting for camera `id`.
    func depth(_ id: String) -> Int {
        condition.lock(); defer { condition.unlock() }
        return rings.first { $0.id == id }?.count ?? 0
    }

    /// Wakes every waiting worker and capture thread so it can check its stop condition.
    func interrupt() {
        condition.lock(); condition.broadcast(); condition.unlock()
    }

    /// No more frames are accepted; workers drain what is queued, then `pop` returns nil.
    func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }

    /// Closes the queues and takes every frame still waiting (shutdown: frames a worker has started are
    /// finished, waiting ones are not inspected). Workers then see nil from `pop`.
    func closeAndTakeWaiting() -> [Frame] {
        condition.lock(); defer { condition.broadcast(); condition.unlock() }
        closed = true
        var frames: [Frame] = []
        for i in rings.indices { while let item = Self.popFront(&rings[i]) { frames.append(item.frame) } }
        return frames
    }

    private static func pushBack(_ ring: inout Ring, _ item: Slot) {
        ring.slots[(ring.head + ring.count) % ring.capacity] = item
        ring.count += 1
    }

    private static func popFront(_ ring: inout Ring) -> Slot? {
        guard ring.count > 0 else { return nil }
        let item = ring.slots[ring.head]
        ring.slots[ring.head] = nil
        ring.head = (ring.head + 1) % ring.capacity
        ring.count -= 1
        return item
    }
}
