import Foundation
import Imaging

/// Stored images as a camera: a directory, a glob or a list file of JPEG/PNG images in a deterministic order
/// (directories and globs sorted by path, list files as listed), paced to a frame rate or as fast as the
/// pipeline takes them, optionally looping. How users re-inspect stored images and how benchmarks feed the
/// daemon. An unreadable or corrupt file is reported as `.decodeError`, counted and skipped. When a whole pass
/// over the images reads none (the directory was moved away, a share unmounted) the camera is `.down`: one
/// file is tried per `nextFrame` call (at the caller's polling timeout, not in a spin) until one reads again,
/// then it is `.up` and paced afresh.
public final class ReplaySource: FrameSource, @unchecked Sendable {
    /// What the config says about a replay camera.
    public struct Configuration: Sendable, Equatable {
        /// Camera id.
        public var cameraID: String
        /// A directory, a glob (`/data/*.jpg`), a list file (one path per line, relative to the list file;
        /// `#` comments) or a single image.
        public var input: String
        /// Frames per second; nil = as fast as the pipeline takes them.
        public var fps: Double?
        /// Start again at the first image after the last.
        public var loop: Bool
        /// Pixel buffers handed to the pipeline.
        public var poolSize: Int
        /// Makes a configuration.
        public init(cameraID: String, input: String, fps: Double? = nil, loop: Bool = false, poolSize: Int = 4) {
            self.cameraID = cameraID; self.input = input; self.fps = fps; self.loop = loop; self.poolSize = poolSize
        }
    }

    /// Image file extensions replay picks from directories.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    public let cameraID: String
    /// The images in replay order.
    public let paths: [String]
    private let config: Configuration
    private let clock: CaptureClock
    /// The buffers this source fills (read-only use: free count, leak checks).
    public let pool: PixelBufferPool
    // Invariant: the state below is touched only under `lock`.
    private let lock = NSLock()
    private let reader = ImageFileReader()
    private let decoder: JPEGDecoder
    private var running = false
    private var finished = false
    private var index = 0
    private var delivered: UInt64 = 0
    private var pacer: FramePacer
    private var errors: UInt64 = 0
    /// Files that failed one after the other; a whole list of them means the images are gone.
    private var failedInARow = 0
    private var down = false
    /// `delivered` when the pacer last started: pacing counts from there, so a camera back from down does not
    /// send the frames it missed in a burst.
    private var pacedFrom: UInt64 = 0
    private var handler: (@Sendable (SourceEvent) -> Void)?

    /// Resolves `input` to its list of images; throws `CaptureConfigurationError` if it names nothing usable.
    public init(configuration: Configuration, clock: CaptureClock = SystemCaptureClock.shared) throws {
        if let fps = configuration.fps, !(fps > 0) {
            throw CaptureConfigurationError.invalid("replay \(configuration.cameraID): fps must be > 0")
        }
        config = configuration; cameraID = configuration.cameraID; self.clock = clock
        pacer = FramePacer(fps: configuration.fps, clock: clock)
        paths = try Self.imagePaths(configuration.input)
        pool = PixelBufferPool(count: max(1, configuration.poolSize), capacity: 1 << 20)
        decoder = try JPEGDecoder()
    }

    /// The images `input` names, in replay order.
    public static func imagePaths(_ input: String) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let isImage = { (p: String) in imageExtensions.contains((p as NSString).pathExtension.lowercased()) }
        var found: [String]
        if fm.fileExists(atPath: input, isDirectory: &isDir) {
            if isDir.boolValue {
                let names = (try? fm.contentsOfDirectory(atPath: input)) ?? []
                found = names.filter(isImage).map { (input as NSString).appendingPathComponent($0) }.sorted()
            } else if isImage(input) {
                found = [input]
            } else {
                guard let text = try? String(contentsOfFile: input, encoding: .utf8) else {
                    throw CaptureConfigurationError.invalid("replay list \(input) is not readable text")
                }
                let base = (input as NSString).deletingLastPathComponent
                found = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && !$0.hasPrefix("#") }
                    .map { $0.hasPrefix("/") ? $0 : (base as NSString).appendingPathComponent($0) }
            }
        } else if input.contains(where: { "*?[".contains($0) }) {
            var g = glob_t()
            defer { globfree(&g) }
            found = []
            if glob(input, 0, nil, &g) == 0 {
                for i in 0..<Int(g.gl_pathc) { if let p = g.gl_pathv[i] { found.append(String(cString: p)) } }
            }
            found = found.filter(isImage).sorted()
        } else {
            throw CaptureConfigurationError.invalid("replay input \(input) does not exist")
        }
        guard !found.isEmpty else { throw CaptureConfigurationError.invalid("replay input \(input) names no JPEG/PNG images") }
        return found
    }

    public var onEvent: (@Sendable (SourceEvent) -> Void)? {
        get { lock.withLock { handler } }
        set { lock.withLock { handler = newValue } }
    }

    /// Files skipped as unreadable or corrupt so far.
    public var decodeErrors: UInt64 { lock.withLock { errors } }

    public func start() throws {
        lock.withLock {
            running = true; finished = false; index = 0; delivered = 0; pacedFrom = 0; failedInARow = 0; down = false
            pacer.start()
        }
        onEvent?(.up)
    }

    public func stop() { lock.withLock { running = false } }

    public func nextFrame(timeout: Duration) throws -> Frame? {
        var events: [SourceEvent] = []
        let frame = lock.withLock { () -> Frame? in
            let deadline = clock.nowNanos() + V4L2Source.nanos(timeout)
            while running && !finished {
                if index >= paths.count {
                    if config.loop && delivered > 0 { index = 0 } else {
                        finished = true; events.append(.finished); return nil
                    }
                }
                guard pacer.waitUntilDue(delivered - pacedFrom, deadline: deadline),
                      let target = pacer.takeBuffer(from: pool, deadline: deadline) else { return nil }
                let path = paths[index]
                index += 1
                do {
                    let pixels = try reader.read(path: path, reusing: target.buffer)
                    // A file too big for the pooled buffer was read into a new one: that frame owns it alone
                    // (the pooled buffer goes back when `target` ends), and the pool grows to fit the next.
                    let lease = pixels === target.buffer ? target : PixelBufferLease(unpooled: pixels)
                    if pixels !== target.buffer { pool.resize(capacity: pixels.capacity); target.release() }
                    if pixels.format == .jpeg {
                        let size = try decoder.header(pixels.contents)
                        pixels.width = size.width; pixels.height = size.height
                    }
                    let now = clock.nowNanos()
                    let frame = Frame(cameraID: cameraID, sequence: delivered, monotonicNanos: now, wallClock: Date(),
                                      lease: lease, origin: path)
                    delivered += 1
                    failedInARow = 0
                    if down {
                        down = false; events.append(.up)
                        pacer.start(); pacedFrom = delivered - 1  // this frame is the first of the new pacing
                    }
                    return frame
                } catch {
                    failedInARow += 1
                    if failedInARow >= paths.count && delivered > 0 {
                        if !down {
                            down = true
                            events.append(.down(reason: "none of the \(paths.count) images of \(config.input) can be read (last: \(path): \(error))"))
                        }
                        let now = clock.nowNanos()
                        if deadline > now { clock.sleep(nanos: deadline - now) }
                        return nil
                    }
                    errors += 1
                    events.append(.decodeError(reason: "\(path): \(error)"))
                }
            }
            return nil
        }
        if !events.isEmpty, let h = onEvent { events.forEach(h) }
        return frame
    }
}
