import Capture
import Foundation
import Logging
import Threading

/// One camera's capture thread: pulls frames from its source and pushes them into the camera's queue,
/// counting every drop. A source that fails to start is retried with backoff (1 s doubling to 30 s); a camera
/// problem never ends the daemon.
///
/// A triggered camera (`trigger.mode: software`, with a `TriggerBook`) keeps pulling frames, so a live camera
/// streams as usual, but queues only a frame some trigger claims: the first captured at or after the oldest
/// waiting trigger's arrival plus delay. The other frames go back to their pool at once. The loop also fails
/// triggers past their timeout (through `expire`), so a camera that is down still answers every trigger.
final class CaptureLoop: Sendable {
    /// The camera's source.
    let source: any FrameSource
    private let queues: FrameQueues
    private let metrics: PipelineMetrics.Camera
    private let health: PipelineHealth
    private let logger: Logger
    private let thread: LoopThread
    private let onEvent: @Sendable (SourceEvent) -> Void
    private let triggers: TriggerBook?
    /// A live camera streams whether or not a part is under it; a replay or synthetic source gives its next
    /// frame on demand, so for a trigger it is asked only once one is due.
    private let streams: Bool
    private let expire: @Sendable (PendingTrigger, TriggerResult.Failure, String) -> Void

    /// `onEvent` also receives every source event (after metrics and health are updated), e.g. for the camera
    /// status topic and the audit store's service events, and `.dropped(count: 1)` for each frame the full
    /// queue dropped.
    /// `triggers`: the camera's trigger book when it is triggered; `expire` fails a trigger (records its error
    /// result and answers it).
    init(source: any FrameSource, queues: FrameQueues, metrics: PipelineMetrics, health: PipelineHealth,
         logger: Logger, triggers: TriggerBook? = nil, streams: Bool = true,
         expire: @escaping @Sendable (PendingTrigger, TriggerResult.Failure, String) -> Void = { _, _, _ in },
         onEvent: @escaping @Sendable (SourceEvent) -> Void) {
        self.source = source; self.queues = queues; self.health = health; self.onEvent = onEvent
        self.triggers = triggers; self.expire = expire; self.streams = streams
        self.metrics = metrics.camera(source.cameraID)
        thread = LoopThread(name: "capture-\(source.cameraID)")
        var logger = logger
        logger[metadataKey: "camera"] = "\(source.cameraID)"
        self.logger = logger
    }

    /// Starts the capture thread.
    func start() { thread.start { [self] in run() } }

    /// Stops the source and waits for the thread to exit (waking it if it waits for room in a full queue).
    func stop() {
        thread.requestStop()
        source.stop()
        queues.interrupt()
        thread.join()
    }

    private var isStopping: Bool { thread.isStopping }

    private func run() {
        let id = source.cameraID
        let (metrics, health, logger, onEvent) = (self.metrics, self.health, self.logger, self.onEvent)
        source.onEvent = { event in
            switch event {
            case .configured(let summary, let problems):
                logger.info("camera opened: \(summary)")
                for p in problems { logger.warning("camera control not set: \(p)") }
            case .up:
                metrics.up.record(1); health.camera(id, .up); logger.info("camera up")
            case .down(let reason):
                metrics.up.record(0); health.camera(id, .down, reason: reason); logger.warning("camera down: \(reason)")
            case .decodeError(let reason):
                metrics.decodeErrors.increment(); logger.warning("frame skipped: \(reason)")
            case .dropped(let count):
                metrics.dropped.increment(by: count); logger.notice("driver dropped \(count) frames")
            case .finished:
                health.camera(id, .finished); logger.info("source finished")
            }
            onEvent(event)
        }
        let (triggers, expire) = (self.triggers, self.expire)
        let timeoutText = triggers.map { "no frame captured within trigger.timeout \(ConfigMapping.describe($0.settings.timeout))" } ?? ""
        // A trigger that found no frame on a camera that is down says so (Modbus error 3, HTTP 503): the PLC's
        // operator is told to look at the camera, not at the line's timing.
        func expireLate() {
            guard let triggers else { return }
            for t in triggers.expired(now: PipelineHealth.monotonicNanos()) {
                if let reason = health.downReason(id) {
                    expire(t, .cameraDown, "the camera is down (\(reason)): \(timeoutText)")
                } else {
                    expire(t, .timeout, timeoutText)
                }
            }
        }
        var backoff = 1.0
        while !isStopping {
            do { try source.start(); break } catch {
                health.camera(id, .down, reason: "\(error)")
                logger.error("cannot start source, retrying in \(Int(backoff)) s: \(error)")
                let deadline = Date().addingTimeInterval(backoff)
                while !isStopping && Date() < deadline { Thread.sleep(forTimeInterval: 0.05); expireLate() }
                backoff = min(backoff * 2, 30)
            }
        }
        // A triggered camera polls more often, so a trigger's timeout is kept to within about 20 ms.
        let poll: Duration = triggers == nil ? .milliseconds(250) : .milliseconds(20)
        while !isStopping {
            expireLate()
            if let triggers, !streams, !triggers.hasDue(now: PipelineHealth.monotonicNanos()) {
                Thread.sleep(forTimeInterval: 0.001)
                continue
            }
            let frame: Frame?
            do { frame = try source.nextFrame(timeout: poll) } catch {
                health.camera(id, .down, reason: "\(error)")
                logger.error("source failed for good: \(error)")
                while triggers != nil && !isStopping { Thread.sleep(forTimeInterval: 0.05); expireLate() }
                return
            }
            guard let frame else { continue }
            metrics.captured.increment()
            var trigger: PendingTrigger?
            if let triggers {
                guard let claimed = triggers.claim(frameNanos: frame.monotonicNanos, now: PipelineHealth.monotonicNanos())
                else { frame.release(); continue }  // no part under the camera: not inspected
                trigger = claimed
            }
            switch queues.push(frame, trigger: trigger, now: PipelineHealth.monotonicNanos(), shouldStop: { isStopping }) {
            case .queued:
                health.frameAccepted()
            case .droppedOldest(let old, let oldTrigger):
                health.frameAccepted(); health.frameDropped()
                metrics.dropped.increment()
                logger.debug("queue full, dropped frame", metadata: ["frame": "\(old.sequence)"])
                onEvent(.dropped(count: 1))
                if let oldTrigger { expire(oldTrigger, .inspectionFailed, "its frame was dropped: the camera's queue was full (overload: drop_oldest)") }
            case .rejected:
                // Its buffer goes back to the pool with the frame.
                if let trigger { expire(trigger, .stopping, "the camera is stopping") }
            }
            metrics.queueDepth.record(queues.depth(id))
        }
    }
}
