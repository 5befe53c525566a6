import CV4L2
import Foundation
import Imaging

/// A V4L2 camera: negotiates format, size and rate, sets the controls, streams with mmap buffers, and turns
/// every device problem (unplug, EIO, a stall) into `.down`, a reconnect with capped backoff (1 s doubling to
/// 30 s) and `.up`. A camera problem never ends the daemon: `nextFrame` just returns nil meanwhile.
///
/// Frames are copied from the driver's buffer into a pooled `PixelBuffer` and the driver's buffer is requeued
/// at once, so a slow pipeline never starves the driver; when the pool is empty the frame is dropped and
/// counted. Events are emitted on the capture thread after the internal lock is released.
public final class V4L2Source: FrameSource, @unchecked Sendable {
    /// What the config says about one camera.
    public struct Configuration: Sendable, Equatable {
        /// Camera id (`cameras[].id`).
        public var cameraID: String
        /// Device node or stable link (`/dev/video0`, `/dev/v4l/by-id/usb-...-video-index0`).
        public var device: String
        /// Pixel formats in order of preference.
        public var formats: [V4L2PixelFormat]
        /// Requested frame size (the driver picks the nearest it has).
        public var width: Int, height: Int
        /// Requested frame rate.
        public var fps: Double
        /// Driver buffers to request (the driver may change it).
        public var bufferCount: Int
        /// Pixel buffers in the pool handed to the pipeline.
        public var poolSize: Int
        /// Controls set after every open.
        public var controls: [CameraControl]
        /// No frame for this long means the camera stalled.
        public var stallTimeout: Duration
        /// First reconnect delay, doubled after each failure up to `maxBackoff`.
        public var initialBackoff: Duration, maxBackoff: Duration

        /// A configuration with the defaults from Configs/inspectd.yaml.
        public init(cameraID: String, device: String, formats: [V4L2PixelFormat] = [.mjpeg, .yuyv, .grey, .nv12],
                    width: Int = 1920, height: Int = 1080, fps: Double = 30, bufferCount: Int = 4,
                    poolSize: Int = 6, controls: [CameraControl] = [], stallTimeout: Duration = .seconds(2),
                    initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(30)) {
            self.cameraID = cameraID; self.device = device; self.formats = formats
            self.width = width; self.height = height; self.fps = fps; self.bufferCount = bufferCount
            self.poolSize = poolSize; self.controls = controls; self.stallTimeout = stallTimeout
            self.initialBackoff = initialBackoff; self.maxBackoff = maxBackoff
        }

        /// Checks values no retry can fix; throws `CaptureConfigurationError`.
        public func validate() throws {
            if device.isEmpty { throw CaptureConfigurationError.invalid("camera \(cameraID): device is empty") }
            if formats.isEmpty { throw CaptureConfigurationError.invalid("camera \(cameraID): formats is empty") }
            if width <= 0 || height <= 0 { throw CaptureConfigurationError.invalid("camera \(cameraID): size \(width)x\(height)") }
            if !(fps > 0 && fps <= 1000) { throw CaptureConfigurationError.invalid("camera \(cameraID): fps \(fps) not in (0, 1000]") }
            if bufferCount < 2 || bufferCount > 32 { throw CaptureConfigurationError.invalid("camera \(cameraID): buffers \(bufferCount) not in 2...32") }
            if poolSize < 1 { throw CaptureConfigurationError.invalid("camera \(cameraID): pool size must be ≥ 1") }
        }
    }

    /// What the driver agreed to.
    public struct Negotiated: Sendable, Equatable {
        /// Pixel format.
        public var format: V4L2PixelFormat
        /// Frame size.
        public var width: Int, height: Int
        /// Frame rate (0 if the driver cannot set it).
        public var fps: Double
        /// Driver buffers.
        public var bufferCount: Int

        /// For the log: "MJPEG 1280×720 at 30 fps, 4 driver buffers".
        public var summary: String {
            let rate = fps > 0 ? "at \(String(format: "%g", (fps * 100).rounded() / 100)) fps" : "at the driver's rate"
            return "\(format.rawValue) \(width)×\(height) \(rate), \(bufferCount) driver buffers"
        }
    }

    /// Counters for metrics.
    public struct Counters: Sendable, Equatable {
        /// Frames delivered.
        public var frames: UInt64 = 0
        /// Frames the driver skipped (sequence gaps) plus frames dropped for want of a pool buffer.
        public var dropped: UInt64 = 0
        /// Bad frames (flagged, short payload).
        public var decodeErrors: UInt64 = 0
        /// Successful reopens after a loss.
        public var reconnects: UInt64 = 0
    }

    private struct Mapped { var address: UnsafeMutableRawPointer; var length: Int }
    private enum State { case stopped, down, streaming }

    public let cameraID: String
    private let config: Configuration
    private let device: V4L2Device
    private let clock: CaptureClock
    /// The buffers this source fills (read-only use: free count, leak checks).
    public let pool: PixelBufferPool
    // Invariant: everything below is touched only under `lock` (capture thread and `stop` callers).
    private let lock = NSLock()
    private var state = State.stopped
    private var fd: Int32 = -1
    private var buffers: [Mapped] = []
    private var current: Negotiated?
    private var lastSequence: UInt32?
    private var lastFrameAt: UInt64 = 0
    private var nextRetryAt: UInt64 = 0
    private var backoff: UInt64
    private var wasUp = false
    private var opens = 0
    private var counters = Counters()
    private var handler: (@Sendable (SourceEvent) -> Void)?
    private var controlNotes: [String] = []
    private var readings: [ControlReading] = []
    private var readingsAt: UInt64 = 0

    /// Makes a source; throws `CaptureConfigurationError` for a bad configuration. `device` and `clock`
    /// default to libv4l2 and the real clock; tests pass a `SimulatedV4L2Device` and a `ManualCaptureClock`.
    public init(configuration: Configuration, device: V4L2Device = LibV4L2Device(),
                clock: CaptureClock = SystemCaptureClock.shared) throws {
        try configuration.validate()
        config = configuration; cameraID = configuration.cameraID
        self.device = device; self.clock = clock
        backoff = Self.nanos(configuration.initialBackoff)
        pool = PixelBufferPool(count: configuration.poolSize, capacity: configuration.width * configuration.height * 2)
    }

    deinit { teardown() }

    public var onEvent: (@Sendable (SourceEvent) -> Void)? {
        get { lock.withLock { handler } }
        set { lock.withLock { handler = newValue } }
    }

    /// What the driver agreed to, once streaming.
    public var negotiated: Negotiated? { lock.withLock { current } }
    /// Counters so far.
    public var counts: Counters { lock.withLock { counters } }
    /// Controls the camera lacks or refused on the last open (not fatal; also in `.configured`, which the
    /// daemon logs).
    public var controlProblems: [String] { lock.withLock { controlNotes } }
    /// The camera's controls as the driver reported them, read on the capture thread after every open and then
    /// every `controlRefresh` while streaming (auto exposure and white balance change values); empty while the
    /// camera is not open. A reader never waits for the device.
    public var controls: [ControlReading] { lock.withLock { readings } }
    /// How often streaming re-reads the control values (a few ioctls; UVC cameras answer each over USB).
    static let controlRefresh: UInt64 = 2_000_000_000

    public func start() throws {
        var events: [SourceEvent] = []
        lock.withLock {
            guard state == .stopped else { return }
            state = .down
            wasUp = true  // so a first failure is reported as .down
            backoff = Self.nanos(config.initialBackoff)
            attemptOpen(&events)
        }
        emit(events)
    }

    public func stop() {
        lock.withLock { teardown(); state = .stopped }
    }


    public func nextFrame(timeout: Duration) throws -> Frame? {
        var events: [SourceEvent] = []
        let frame = lock.withLock { () -> Frame? in
            let deadline = clock.nowNanos() + Self.nanos(timeout)
            while true {
                switch state {
                case .stopped:
                    return nil
                case .down:
                    let now = clock.nowNanos()
                    if now >= nextRetryAt { attemptOpen(&events); if state == .streaming { continue } }
                    let now2 = clock.nowNanos()
                    guard now2 < deadline else { return nil }
                    let wait = min(deadline, nextRetryAt) - min(now2, min(deadline, nextRetryAt))
                    clock.sleep(nanos: wait)
                    if clock.nowNanos() >= deadline { return nil }
                case .streaming:
                    if let f = pollOnce(deadline: deadline, &events) { return f }
                    if state == .streaming && clock.nowNanos() >= deadline { return nil }
                }
            }
        }
        emit(events)
        return frame
    }

    // MARK: streaming

    /// Polls and dequeues until a usable frame, the deadline, or a device loss.
    private func pollOnce(deadline: UInt64, _ events: inout [SourceEvent]) -> Frame? {
        let now = clock.nowNanos()
        let stallAt = lastFrameAt + Self.nanos(config.stallTimeout)
        if now >= stallAt {
            goDown("no frame in \(config.stallTimeout)", &events); return nil
        }
        let until = min(deadline, stallAt)
        let ms = Int32(clamping: (until - min(now, until) + 999_999) / 1_000_000)
        let revents: Int16
        do { revents = try device.poll(fd, timeoutMilliseconds: max(ms, 0)) } catch {
            goDown("\(error)", &events); return nil
        }
        if revents == 0 { return nil }
        var buf = v4l2_buffer()
        buf.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE; buf.memory = CV4L2_MEMORY_MMAP
        do { try device.dequeueBuffer(fd, &buf) } catch let e as V4L2Error {
            if e.code == EAGAIN && revents & Int16(POLLERR | POLLHUP) == 0 { return nil }
            goDown(e.code == EAGAIN ? "device error (POLLERR)" : e.description, &events); return nil
        } catch { goDown("\(error)", &events); return nil }
        let frame = take(buf, &events)
        do { try device.queueBuffer(fd, &buf) } catch {
            goDown("\(error)", &events); return frame
        }
        if clock.nowNanos() &- readingsAt >= Self.controlRefresh {
            readings = ControlReading.readAll(device, fd: fd); readingsAt = clock.nowNanos()
        }
        return frame
    }

    /// Copies a dequeued buffer into a pooled pixel buffer (nil if the frame is bad or there is no buffer).
    private func take(_ buf: v4l2_buffer, _ events: inout [SourceEvent]) -> Frame? {
        let now = clock.nowNanos()
        lastFrameAt = now
        if let last = lastSequence, buf.sequence &- last > 1, buf.sequence &- last < 1 << 31 {
            let gap = Int(buf.sequence &- last &- 1)
            counters.dropped += UInt64(gap); events.append(.dropped(count: gap))
        }
        lastSequence = buf.sequence
        guard let neg = current, Int(buf.index) < buffers.count else { return nil }
        if buf.flags & CV4L2_BUF_FLAG_ERROR != 0 {
            counters.decodeErrors += 1; events.append(.decodeError(reason: "driver flagged frame \(buf.sequence) as damaged"))
            return nil
        }
        let used = min(Int(buf.bytesused), buffers[Int(buf.index)].length)
        let src = UnsafeRawBufferPointer(start: buffers[Int(buf.index)].address, count: used)
        if let problem = Self.payloadProblem(src, neg) {
            counters.decodeErrors += 1; events.append(.decodeError(reason: "frame \(buf.sequence): \(problem)"))
            return nil
        }
        guard let lease = pool.take() else {
            counters.dropped += 1; events.append(.dropped(count: 1)); return nil
        }
        let pixels = lease.buffer
        guard used <= pixels.capacity else {
            counters.decodeErrors += 1; events.append(.decodeError(reason: "frame of \(used) bytes exceeds the buffer"))
            return nil
        }
        pixels.bytes.copyMemory(from: src.baseAddress!, byteCount: used)
        pixels.byteCount = used; pixels.format = neg.format.pixelFormat
        pixels.width = neg.width; pixels.height = neg.height
        var mono = now
        if buf.flags & CV4L2_BUF_FLAG_TIMESTAMP_MASK == CV4L2_BUF_FLAG_TIMESTAMP_MONOTONIC {
            mono = UInt64(max(0, buf.timestamp.tv_sec)) * 1_000_000_000 + UInt64(max(0, buf.timestamp.tv_usec)) * 1000
        }
        let age = Double(now > mono ? now - mono : 0) / 1e9
        counters.frames += 1
        return Frame(cameraID: cameraID, sequence: UInt64(buf.sequence), monotonicNanos: mono,
                     wallClock: Date(timeIntervalSinceNow: -age), lease: lease)
    }

    /// Why a payload cannot be a whole frame, or nil.
    static func payloadProblem(_ p: UnsafeRawBufferPointer, _ neg: Negotiated) -> String? {
        if neg.format == .mjpeg {
            guard p.count >= 4, p[0] == 0xFF, p[1] == 0xD8 else { return "MJPEG payload of \(p.count) bytes has no JPEG start" }
            // Cameras may pad after the end marker; look back over a little padding for FF D9.
            var i = p.count - 1
            let floor = max(1, p.count - 4096)
            while i > floor && p[i] == 0 { i -= 1 }
            return p[i - 1] == 0xFF && p[i] == 0xD9 ? nil : "short MJPEG payload (\(p.count) bytes, no end marker)"
        }
        let need = neg.format.pixelFormat.byteCount(width: neg.width, height: neg.height) ?? 0
        return p.count < need ? "short payload: \(p.count) of \(need) bytes" : nil
    }

    // MARK: open / close

    private func attemptOpen(_ events: inout [SourceEvent]) {
        do {
            try openAndStream()
            state = .streaming
            lastFrameAt = clock.nowNanos()
            lastSequence = nil
            opens += 1
            if opens > 1 { counters.reconnects += 1 }
            wasUp = true
            backoff = Self.nanos(config.initialBackoff)
            if let neg = current { events.append(.configured(summary: neg.summary, controlProblems: controlNotes)) }
            events.append(.up)
        } catch {
            teardown()
            if wasUp { events.append(.down(reason: "\(config.device): \(error)")); wasUp = false }
            scheduleRetry()
        }
    }

    private func goDown(_ reason: String, _ events: inout [SourceEvent]) {
        teardown()
        state = .down
        wasUp = false
        events.append(.down(reason: "\(config.device): \(reason)"))
        backoff = Self.nanos(config.initialBackoff)
        scheduleRetry()
    }

    private func scheduleRetry() {
        state = state == .stopped ? .stopped : .down
        nextRetryAt = clock.nowNanos() + backoff
        backoff = min(backoff * 2, Self.nanos(config.maxBackoff))
    }

    private func openAndStream() throws {
        fd = try device.open(path: config.device)
        let cap = try device.queryCapabilities(fd)
        let caps = cap.capabilities & CV4L2_CAP_DEVICE_CAPS != 0 ? cap.device_caps : cap.capabilities
        guard caps & CV4L2_CAP_VIDEO_CAPTURE != 0, caps & CV4L2_CAP_STREAMING != 0 else {
            throw CaptureConfigurationError.invalid("not a streaming capture device")
        }
        var offered: [UInt32] = []
        var i: UInt32 = 0
        while let d = try? device.enumerateFormat(fd, index: i) { offered.append(d.pixelformat); i += 1; if i > 64 { break } }
        var chosen: (V4L2PixelFormat, v4l2_format)?
        var refused: [String] = []
        for want in config.formats where offered.contains(want.fourcc) || (want == .mjpeg && offered.contains(CV4L2_PIX_FMT_JPEG)) {
            var f = v4l2_format()
            f.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            f.fmt.pix.pixelformat = offered.contains(want.fourcc) ? want.fourcc : CV4L2_PIX_FMT_JPEG
            f.fmt.pix.width = UInt32(config.width); f.fmt.pix.height = UInt32(config.height)
            f.fmt.pix.field = CV4L2_FIELD_ANY
            do { try device.setFormat(fd, &f) } catch { refused.append("\(want.rawValue): \(error)"); continue }
            guard let got = V4L2PixelFormat(fourcc: f.fmt.pix.pixelformat), config.formats.contains(got) else {
                refused.append("\(want.rawValue): driver chose \(V4L2PixelFormat.fourccText(f.fmt.pix.pixelformat))"); continue
            }
            chosen = (got, f); break
        }
        guard let (format, f) = chosen else {
            let names = offered.map(V4L2PixelFormat.fourccText).joined(separator: ", ")
            throw CaptureConfigurationError.invalid("no usable pixel format (camera offers \(names); \(refused.joined(separator: "; ")))")
        }
        let width = Int(f.fmt.pix.width), height = Int(f.fmt.pix.height)
        guard width > 0, height > 0 else { throw CaptureConfigurationError.invalid("driver chose a zero frame size") }

        var fps = 0.0
        var parm = v4l2_streamparm(); parm.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        if (try? device.getStreamParameters(fd, &parm)) != nil, parm.parm.capture.capability & CV4L2_CAP_TIMEPERFRAME != 0 {
            parm.parm.capture.timeperframe = v4l2_fract(numerator: 1000, denominator: UInt32(max(1, (config.fps * 1000).rounded())))
            if (try? device.setStreamParameters(fd, &parm)) != nil, parm.parm.capture.timeperframe.numerator > 0 {
                fps = Double(parm.parm.capture.timeperframe.denominator) / Double(parm.parm.capture.timeperframe.numerator)
            }
        }
        applyControls()

        var req = v4l2_requestbuffers()
        req.count = UInt32(config.bufferCount); req.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE; req.memory = CV4L2_MEMORY_MMAP
        try device.requestBuffers(fd, &req)
        guard req.count >= 1 else { throw CaptureConfigurationError.invalid("driver granted no buffers") }
        var largest = Int(f.fmt.pix.sizeimage)
        for index in 0..<req.count {
            var b = v4l2_buffer(); b.index = index; b.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE; b.memory = CV4L2_MEMORY_MMAP
            try device.queryBuffer(fd, &b)
            let addr = try device.map(fd, length: Int(b.length), offset: Int(b.m.offset))
            buffers.append(Mapped(address: addr, length: Int(b.length)))
            largest = max(largest, Int(b.length))
        }
        pool.resize(capacity: largest)
        for index in 0..<req.count {
            var b = v4l2_buffer(); b.index = index; b.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE; b.memory = CV4L2_MEMORY_MMAP
            try device.queueBuffer(fd, &b)
        }
        try device.streamOn(fd)
        readings = ControlReading.readAll(device, fd: fd); readingsAt = clock.nowNanos()
        current = Negotiated(format: format, width: width, height: height, fps: fps, bufferCount: Int(req.count))
    }

    private func applyControls() {
        controlNotes = []
        for c in config.controls {
            var q = v4l2_queryctrl(); q.id = c.id
            guard (try? device.queryControl(fd, &q)) != nil, q.flags & CV4L2_CTRL_FLAG_DISABLED == 0 else {
                controlNotes.append("camera has no control \(c.name)"); continue
            }
            var ctl = v4l2_control(id: c.id, value: c.value)
            do { try device.setControl(fd, &ctl) } catch {
                controlNotes.append("\(c.name)=\(c.value) refused (\(error); range \(q.minimum)...\(q.maximum))")
            }
        }
    }

    /// Releases the device, ignoring errors (it may already be gone).
    private func teardown() {
        guard fd >= 0 else { return }
        try? device.streamOff(fd)
        for b in buffers { device.unmap(b.address, length: b.length) }
        buffers = []
        var req = v4l2_requestbuffers()
        req.count = 0; req.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE; req.memory = CV4L2_MEMORY_MMAP
        try? device.requestBuffers(fd, &req)
        device.close(fd)
        fd = -1
        readings = []
    }

    private func emit(_ events: [SourceEvent]) {
        guard !events.isEmpty, let h = onEvent else { return }
        for e in events { h(e) }
    }

    static func nanos(_ d: Duration) -> UInt64 {
        let (s, a) = d.components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, a) / 1_000_000_000)
    }
}
