import Foundation
import Imaging

/// The demo camera: deterministic PCB-like frames in the style of the DeepPCB images (binarized dark copper
/// on a light background) with defects of the six DeepPCB classes injected at known boxes
/// (`Frame.groundTruth`), at a configured size and rate. Frame n depends only on (seed, n), so runs repeat.
/// It feeds the README demo on a machine with no dataset, and load tests.
///
/// With a golden board (`goldenBoard`), the camera looks at one product: the board is drawn once from the
/// seed (`reference` is that clean board), and frame n is that board with defects injected on a
/// `defectiveFraction` of the frames, placed with a small random shift and rotation as a part on a conveyor
/// is (within `maxShift` pixels and `maxRotation` degrees); the ground-truth boxes follow the placement.
public final class SyntheticSource: FrameSource, @unchecked Sendable {
    /// How frames leave the source.
    public enum Encoding: Sendable, Equatable {
        /// JPEG at this quality, like an MJPEG camera (and like the DeepPCB files).
        case jpeg(quality: Int)
        /// Raw 8-bit grey, like a GREY camera.
        case gray8
    }

    /// What the config says about a synthetic camera.
    public struct Configuration: Sendable, Equatable {
        /// Camera id.
        public var cameraID: String
        /// Frame size (DeepPCB frames are 640×640).
        public var width: Int, height: Int
        /// Frames per second; nil = as fast as the pipeline takes them.
        public var fps: Double?
        /// Defects injected per frame (uniform in the range; DeepPCB has 3–12).
        public var defectsPerFrame: ClosedRange<Int>
        /// Seed: the same seed gives the same frames.
        public var seed: UInt64
        /// JPEG or raw grey.
        public var encoding: Encoding
        /// Stop (`.finished`) after this many frames; nil = endless.
        public var frameCount: Int?
        /// Pixel buffers handed to the pipeline.
        public var poolSize: Int
        /// Share of frames that carry defects (the others are good parts), 0…1.
        public var defectiveFraction: Double
        /// One fixed board (the golden board, offered as `reference`) instead of a new board per frame.
        public var goldenBoard: Bool
        /// Placement of a golden-board frame: the largest shift (pixels) and rotation (degrees).
        public var maxShift: Double, maxRotation: Double

        /// Makes a configuration with the demo's defaults.
        public init(cameraID: String, width: Int = 640, height: Int = 640, fps: Double? = 5,
                    defectsPerFrame: ClosedRange<Int> = 3...6, seed: UInt64 = 1,
                    encoding: Encoding = .jpeg(quality: 90), frameCount: Int? = nil, poolSize: Int = 4,
                    defectiveFraction: Double = 1, goldenBoard: Bool = false, maxShift: Double = 0,
                    maxRotation: Double = 0) {
            self.cameraID = cameraID; self.width = width; self.height = height; self.fps = fps
            self.defectsPerFrame = defectsPerFrame; self.seed = seed; self.encoding = encoding
            self.frameCount = frameCount; self.poolSize = poolSize; self.defectiveFraction = defectiveFraction
            self.goldenBoard = goldenBoard; self.maxShift = maxShift; self.maxRotation = maxRotation
        }

        /// Checks the values; throws `CaptureConfigurationError`.
        public func validate() throws {
            if width < 128 || height < 128 || width > 8192 || height > 8192 {
                throw CaptureConfigurationError.invalid("synthetic \(cameraID): size \(width)x\(height) not within 128...8192")
            }
            if let fps, !(fps > 0) { throw CaptureConfigurationError.invalid("synthetic \(cameraID): fps must be > 0") }
            if defectsPerFrame.lowerBound < 0 || defectsPerFrame.upperBound > 30 {
                throw CaptureConfigurationError.invalid("synthetic \(cameraID): defects per frame must be within 0...30")
            }
            if !(0...1).contains(defectiveFraction) {
                throw CaptureConfigurationError.invalid("synthetic \(cameraID): defective fraction must be within 0...1")
            }
            if !(0...100).contains(maxShift) || !(0...10).contains(maxRotation) {
                throw CaptureConfigurationError.invalid("synthetic \(cameraID): shift must be within 0...100 px and rotation within 0...10 degrees")
            }
            if case .jpeg(let q) = encoding, !(1...100).contains(q) {
                throw CaptureConfigurationError.invalid("synthetic \(cameraID): JPEG quality \(q) not in 1...100")
            }
        }
    }

    /// DeepPCB class names, by class id.
    public static let classNames = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]

    public let cameraID: String
    private let config: Configuration
    private let clock: CaptureClock
    /// The buffers this source fills (read-only use: free count, leak checks).
    public let pool: PixelBufferPool
    // Invariant: the state below is touched only under `lock`.
    private let lock = NSLock()
    private let canvas: PixelBuffer
    /// The clean board of a golden-board camera (gray8), drawn once; nil otherwise.
    private let golden: (board: PixelBuffer, painter: PCBPainter)?
    /// The defects of a golden-board frame are drawn here before the frame is placed into `canvas`.
    private let unplaced: PixelBuffer?
    private let encoder: JPEGEncoder
    private var running = false
    private var finished = false
    private var sequence: UInt64 = 0
    private var pacer: FramePacer
    private var handler: (@Sendable (SourceEvent) -> Void)?

    /// Makes the source; throws `CaptureConfigurationError` for bad values.
    public init(configuration: Configuration, clock: CaptureClock = SystemCaptureClock.shared) throws {
        try configuration.validate()
        config = configuration; cameraID = configuration.cameraID; self.clock = clock
        pacer = FramePacer(fps: configuration.fps, clock: clock)
        let pixels = configuration.width * configuration.height
        canvas = PixelBuffer(capacity: pixels)
        if configuration.goldenBoard {
            let board = PixelBuffer(capacity: pixels)
            var rng = SyntheticRandom(seed: configuration.seed &* 0x9E37_79B9_7F4A_7C15)
            var painter = PCBPainter(width: configuration.width, height: configuration.height,
                                     pixels: board.bytes.assumingMemoryBound(to: UInt8.self))
            painter.drawBoard(&rng)
            board.width = configuration.width; board.height = configuration.height
            board.format = .gray8; board.byteCount = pixels
            golden = (board, painter)
            unplaced = PixelBuffer(capacity: pixels)
        } else {
            golden = nil; unplaced = nil
        }
        // A JPEG of a binary picture is far smaller than raw, but never assume: raw size + headers.
        pool = PixelBufferPool(count: max(1, configuration.poolSize), capacity: pixels + 65536)
        encoder = try JPEGEncoder()
    }

    public var onEvent: (@Sendable (SourceEvent) -> Void)? {
        get { lock.withLock { handler } }
        set { lock.withLock { handler = newValue } }
    }

    public func start() throws {
        lock.withLock { running = true; finished = false; sequence = 0; pacer.start() }
        onEvent?(.up)
    }

    public func stop() { lock.withLock { running = false } }


    /// The golden board (gray8, the frame size) of a golden-board camera; nil otherwise. Read-only.
    public var reference: PixelBuffer? { golden?.board }

    /// Draws frame `index` for `configuration` into `into` (gray8, width × height) and returns its defects.
    /// The same (seed, index) always gives the same picture and boxes.
    public static func render(index: UInt64, configuration c: Configuration, into pixels: UnsafeMutablePointer<UInt8>)
        -> [GroundTruthDefect] {
        var rng = SyntheticRandom(seed: c.seed &* 0x9E37_79B9_7F4A_7C15 ^ (index &+ 1) &* 0xD1B5_4A32_D192_ED03)
        var painter = PCBPainter(width: c.width, height: c.height, pixels: pixels)
        painter.drawBoard(&rng)
        return injectDefects(&painter, &rng, configuration: c)
    }

    /// Draws a frame's defects (none on a good part) and returns their boxes.
    private static func injectDefects(_ painter: inout PCBPainter, _ rng: inout SyntheticRandom,
                                      configuration c: Configuration) -> [GroundTruthDefect] {
        guard c.defectiveFraction >= 1 || rng.double(0, 1) < c.defectiveFraction else { return [] }
        let n = rng.int(c.defectsPerFrame)
        let scale = Double(min(c.width, c.height)) / 640
        var taken: [(Double, Double, Double, Double)] = []
        var truth: [GroundTruthDefect] = []
        let firstClass = rng.int(0...5)
        for i in 0..<n {
            let cls = (firstClass + i) % 6
            guard let b = painter.drawDefect(cls, &rng, avoiding: taken) else { continue }
            taken.append(b)
            // Annotators drew loose boxes: the flaw plus a margin, rarely under 28 px at 640.
            let cx = (b.0 + b.2) / 2, cy = (b.1 + b.3) / 2
            let hw = max((b.2 - b.0) / 2 + 7 * scale, 14 * scale), hh = max((b.3 - b.1) / 2 + 7 * scale, 14 * scale)
            truth.append(GroundTruthDefect(classID: cls,
                                           x1: Float(max(0, cx - hw)), y1: Float(max(0, cy - hh)),
                                           x2: Float(min(Double(c.width), cx + hw)), y2: Float(min(Double(c.height), cy + hh))))
        }
        return truth
    }

    /// Draws frame `index` into `canvas`: a board of its own, or the golden board with this frame's defects
    /// and placement.
    private func renderFrame(_ index: UInt64) -> [GroundTruthDefect] {
        let out = canvas.bytes.assumingMemoryBound(to: UInt8.self)
        guard let golden, let unplaced else { return Self.render(index: index, configuration: config, into: out) }
        let c = config
        var rng = SyntheticRandom(seed: c.seed &* 0x9E37_79B9_7F4A_7C15 ^ (index &+ 1) &* 0xD1B5_4A32_D192_ED03)
        unplaced.bytes.copyMemory(from: golden.board.bytes, byteCount: c.width * c.height)
        var painter = golden.painter.drawing(into: unplaced.bytes.assumingMemoryBound(to: UInt8.self))
        let truth = Self.injectDefects(&painter, &rng, configuration: c)
        let placement = RigidPlacement(dx: rng.double(-c.maxShift, c.maxShift), dy: rng.double(-c.maxShift, c.maxShift),
                                       degrees: rng.double(-c.maxRotation, c.maxRotation), width: c.width, height: c.height)
        placement.warp(unplaced.bytes.assumingMemoryBound(to: UInt8.self), into: out, background: 255)
        return truth.map { placement.box($0) }
    }

    public func nextFrame(timeout: Duration) throws -> Frame? {
        var events: [SourceEvent] = []
        let frame = lock.withLock { () -> Frame? in
            guard running, !finished else { return nil }
            let deadline = clock.nowNanos() + V4L2Source.nanos(timeout)
            if let count = config.frameCount, sequence >= UInt64(count) {
                finished = true; events.append(.finished); return nil
            }
            guard pacer.waitUntilDue(sequence, deadline: deadline),
                  let lease = pacer.takeBuffer(from: pool, deadline: deadline) else { return nil }
            let pixels = lease.buffer
            let w = config.width, h = config.height
            let truth = renderFrame(sequence)
            canvas.width = w; canvas.height = h; canvas.format = .gray8; canvas.byteCount = w * h
            switch config.encoding {
            case .gray8:
                pixels.bytes.copyMemory(from: canvas.bytes, byteCount: w * h)
                pixels.format = .gray8; pixels.byteCount = w * h
            case .jpeg(let quality):
                do {
                    try encoder.encode(canvas, quality: quality) { jpeg in
                        guard jpeg.count <= pixels.capacity else { throw ImagingError.tooLarge(width: w, height: h, capacity: pixels.capacity) }
                        pixels.bytes.copyMemory(from: jpeg.baseAddress!, byteCount: jpeg.count)
                        pixels.byteCount = jpeg.count
                    }
                    pixels.format = .jpeg
                } catch {
                    events.append(.decodeError(reason: "synthetic frame \(sequence): \(error)"))
                    sequence += 1
                    return nil
                }
            }
            pixels.width = w; pixels.height = h
            let frame = Frame(cameraID: cameraID, sequence: sequence, monotonicNanos: clock.nowNanos(), wallClock: Date(),
                              lease: lease, origin: "synthetic:\(config.seed):\(sequence)", groundTruth: truth)
            sequence += 1
            return frame
        }
        if !events.isEmpty, let h = onEvent { events.forEach(h) }
        return frame
    }
}
