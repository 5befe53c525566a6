import Foundation
import Imaging

/// Stored images as a camera: a directory, a glob or a list file of JPEG/PNG images in a deterministic order
/// (directories and globs sorted by path, list files as listed), paced to a frame rate or as fast as the
/// pipeline takes them, optionally looping. How users re-inspect stored images and how benchmarks feed the
/// daemon. An unreadable or corrupt file is reported as `.decodeError`, counted and skipped.
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
            running = true; finished = false; index = 0; delivered = 0; pacer.start()
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
                guard pacer.waitUntilDue(delivered, deadline: deadline),
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
                    return frame
                } catch {
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
