import Capture
import Foundation
import Logging
import Threading

/// One camera's capture thread: pulls frames from its source and pushes them into the camera's queue,
/// counting every drop. A source that fails to start is retried with backoff (1 s doubling to 30 s); a camera
/// problem never ends the daemon.
final class CaptureLoop: Sendable {
    /// The camera's source.
    let source: any FrameSource
    private let queues: FrameQueues
    private let metrics: PipelineMetrics.Camera
    private let health: PipelineHealth
    private let logger: Logger
    private let thread: LoopThread
    private let onEvent: @Sendable (SourceEvent) -> Void

    /// `onEvent` also receives every source event (after metrics and health are updated), e.g. for the camera
    /// status topic and the audit store's service events, and `.dropped(count: 1)` for each frame the full
    /// queue dropped.
    init(source: any FrameSource, queues: FrameQueues, metrics: PipelineMetrics, health: PipelineHealth,
         logger: Logger, onEvent: @escaping @Sendable (SourceEvent) -> Void) {
        self.source = source; self.queues = queues; self.health = health; self.onEvent = onEvent
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
        var backoff = 1.0
        while !isStopping {
            do { try source.start(); break } catch {
                health.camera(id, .down, reason: "\(error)")
                logger.error("cannot start source, retrying in \(Int(backoff)) s: \(error)")
                let deadline = Date().addingTimeInterval(backoff)
                while !isStopping && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
                backoff = min(backoff * 2, 30)
            }
        }
        while !isStopping {
            let frame: Frame?
            do { frame = try source.nextFrame(timeout: .milliseconds(250)) } catch {
                health.camera(id, .down, reason: "\(error)")
                logger.error("source failed for good: \(error)")
                return
            }
            guard let frame else { continue }
            metrics.captured.increment()
            switch queues.push(frame, now: PipelineHealth.monotonicNanos(), shouldStop: { isStopping }) {
            case .queued:
                health.frameAccepted()
            case .droppedOldest(let old):
                health.frameAccepted(); health.frameDropped()
                metrics.dropped.increment()
                logger.debug("queue full, dropped frame", metadata: ["frame": "\(old.sequence)"])
                onEvent(.dropped(count: 1))
            case .rejected:
                break  // its buffer goes back to the pool with the frame
            }
            metrics.queueDepth.record(queues.depth(id))
        }
    }
}
