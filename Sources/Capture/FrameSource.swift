import Foundation
import Imaging

/// One image from a camera (or replay/synthetic source) with its identity and capture times.
public struct Frame: Sendable {
    /// Camera id from the config (`cameras[].id`).
    public var cameraID: String
    /// Source sequence number (V4L2 driver sequence, replay index, synthetic counter).
    public var sequence: UInt64
    /// Capture time on CLOCK_MONOTONIC, nanoseconds (driver timestamp when it has one).
    public var monotonicNanos: UInt64
    /// Capture time on the wall clock (UTC).
    public var wallClock: Date
    /// Who owns the pixels: the frame carries its buffer's lease, so the buffer goes back to its source's pool
    /// exactly once, when `release()` is called or when the last copy of the frame goes away.
    public let lease: PixelBufferLease
    /// The pixels (valid while the frame is held and not released).
    public var pixels: PixelBuffer { lease.buffer }
    /// Where the image came from (file path for replay), for logs and audit; empty for live cameras.
    public var origin: String
    /// Known defects for synthetic frames (boxes in source pixels), empty otherwise.
    public var groundTruth: [GroundTruthDefect]

    /// Makes a frame that owns a pooled buffer through `lease`.
    public init(cameraID: String, sequence: UInt64, monotonicNanos: UInt64, wallClock: Date, lease: PixelBufferLease,
                origin: String = "", groundTruth: [GroundTruthDefect] = []) {
        self.cameraID = cameraID; self.sequence = sequence; self.monotonicNanos = monotonicNanos
        self.wallClock = wallClock; self.lease = lease; self.origin = origin; self.groundTruth = groundTruth
    }

    /// Makes a frame of pixels that belong to no pool.
    public init(cameraID: String, sequence: UInt64, monotonicNanos: UInt64, wallClock: Date, pixels: PixelBuffer,
                origin: String = "", groundTruth: [GroundTruthDefect] = []) {
        self.init(cameraID: cameraID, sequence: sequence, monotonicNanos: monotonicNanos, wallClock: wallClock,
                  lease: PixelBufferLease(unpooled: pixels), origin: origin, groundTruth: groundTruth)
    }

    /// Hands the pixels back to their pool now (the end of the frame's last copy would, later). Call it after
    /// the last read of `pixels`; a second call does nothing.
    public func release() { lease.release() }
}

/// A defect a synthetic source injected, with its box in source pixels.
public struct GroundTruthDefect: Sendable, Equatable, Codable {
    /// DeepPCB class id (0 open, 1 short, 2 mousebite, 3 spur, 4 copper, 5 pin-hole).
    public var classID: Int
    /// Box corners in source pixels.
    public var x1: Float, y1: Float, x2: Float, y2: Float
    /// Makes a ground-truth box.
    public init(classID: Int, x1: Float, y1: Float, x2: Float, y2: Float) {
        self.classID = classID; self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2
    }
}

/// What a source reports about itself, for logs, metrics and the camera status topic.
public enum SourceEvent: Sendable, Equatable {
    /// The device was opened (on start and on every reopen): what was negotiated (`summary`, e.g. "MJPEG
    /// 1280×720 at 30 fps, 4 driver buffers") and each control that could not be set. Sent just before `.up`.
    case configured(summary: String, controlProblems: [String])
    /// The source is delivering frames.
    case up
    /// The source lost its device or stalled; the reason names the cause (errno text, "no frame in 2 s").
    case down(reason: String)
    /// A frame could not be used (corrupt JPEG, short payload); counted and skipped.
    case decodeError(reason: String)
    /// The driver's sequence skipped `count` frames.
    case dropped(count: Int)
    /// A finite source (replay without loop) has delivered everything.
    case finished
}

/// A source of frames: a V4L2 camera, a replay of stored images, or the synthetic demo camera.
///
/// One capture thread calls `nextFrame` in a loop; `stop` may be called from any thread.
public protocol FrameSource: AnyObject, Sendable {
    /// Camera id from the config.
    var cameraID: String { get }
    /// Opens the device or files. Errors name the device or path.
    func start() throws
    /// Stops streaming and releases the device; `nextFrame` returns nil afterwards.
    func stop()
    /// The next frame, or nil if none arrived within `timeout` (or the source is stopped or finished).
    /// Device loss and bad frames are reported through `events`, not thrown: a camera problem never ends
    /// the daemon. Throws only for errors no retry can fix (a bad configuration).
    func nextFrame(timeout: Duration) throws -> Frame?
    /// Called on the capture thread for every state change and counted problem.
    var onEvent: (@Sendable (SourceEvent) -> Void)? { get set }
    /// The golden image of what this source shows, when the source itself knows it (a synthetic golden-board
    /// camera); nil for real cameras, whose reference comes from the config. Never written once made.
    var reference: PixelBuffer? { get }
}

extension FrameSource {
    /// Real cameras and replays do not know their product's golden image.
    public var reference: PixelBuffer? { nil }
}
