import CV4L2
import Capture
import Foundation
import Imaging

/// A V4L2 capture device in memory with the kernel's buffer-queue semantics, for tests (a test double: it lives
/// in the CaptureTesting target, not in the daemon):
/// buffers are filled in the order they were queued, DQBUF gives EAGAIN when nothing is ready, S_FMT gives
/// EINVAL for a format the camera lacks and adjusts the size to the nearest mode, REQBUFS clamps the count,
/// and scripted faults reproduce what plant cameras do: unplug (ENODEV, POLLERR|POLLHUP), stalls, sequence
/// gaps, truncated MJPEG payloads and V4L2_BUF_FLAG_ERROR.
///
/// Time comes from a `CaptureClock`; with a `ManualCaptureClock` a poll that would wait just advances it.
/// Thread-safe (one lock around all state).
public final class SimulatedV4L2Device: V4L2Device, @unchecked Sendable {
    /// A size the camera offers for a format.
    public struct Mode: Sendable, Equatable {
        /// The format.
        public var format: V4L2PixelFormat
        /// Frame size.
        public var width: Int, height: Int
        /// Makes a mode.
        public init(_ format: V4L2PixelFormat, _ width: Int, _ height: Int) {
            self.format = format; self.width = width; self.height = height
        }
    }

    /// Something that happens when a given frame is due (frames counted from 0 over the device's life).
    public enum Fault: Sendable, Equatable {
        /// The camera is unplugged instead of delivering this frame.
        case unplug
        /// No frame for this long, then streaming resumes.
        case stall(nanos: UInt64)
        /// The driver drops this many frames first (the sequence number jumps).
        case sequenceGap(Int)
        /// The MJPEG payload is cut to this many bytes.
        case shortPayload(bytes: Int)
        /// The driver flags the buffer with V4L2_BUF_FLAG_ERROR.
        case errorFlag
    }

    /// A control the camera has.
    public struct Control: Sendable, Equatable {
        /// Range and current value.
        public var minimum: Int32, maximum: Int32, value: Int32
        /// The value the camera powers up with (QUERYCTRL's `default_value`): `value` as made.
        public var defaultValue: Int32
        /// Makes a control.
        public init(minimum: Int32, maximum: Int32, value: Int32) {
            self.minimum = minimum; self.maximum = maximum; self.value = value; self.defaultValue = value
        }
    }

    /// The kernel's names and types (v4l2-ctrls-defs.c) of the controls a simulated camera may have.
    static let controlDefinitions: [UInt32: (name: String, type: UInt32)] = [
        CV4L2_CID_BRIGHTNESS: ("Brightness", CV4L2_CTRL_TYPE_INTEGER),
        CV4L2_CID_CONTRAST: ("Contrast", CV4L2_CTRL_TYPE_INTEGER),
        CV4L2_CID_SATURATION: ("Saturation", CV4L2_CTRL_TYPE_INTEGER),
        CV4L2_CID_SHARPNESS: ("Sharpness", CV4L2_CTRL_TYPE_INTEGER),
        CV4L2_CID_GAIN: ("Gain", CV4L2_CTRL_TYPE_INTEGER),
        CV4L2_CID_POWER_LINE_FREQUENCY: ("Power Line Frequency", CV4L2_CTRL_TYPE_MENU),
        CV4L2_CID_AUTO_WHITE_BALANCE: ("White Balance, Automatic", CV4L2_CTRL_TYPE_BOOLEAN),
        CV4L2_CID_WHITE_BALANCE_TEMPERATURE: ("White Balance Temperature", CV4L2_CTRL_TYPE_INTEGER),
        CV4L2_CID_EXPOSURE_AUTO: ("Auto Exposure", CV4L2_CTRL_TYPE_MENU),
        CV4L2_CID_EXPOSURE_ABSOLUTE: ("Exposure Time, Absolute", CV4L2_CTRL_TYPE_INTEGER),
        CV4L2_CID_EXPOSURE_AUTO_PRIORITY: ("Exposure, Dynamic Framerate", CV4L2_CTRL_TYPE_BOOLEAN),
        CV4L2_CID_FOCUS_AUTO: ("Focus, Automatic Continuous", CV4L2_CTRL_TYPE_BOOLEAN),
        CV4L2_CID_FOCUS_ABSOLUTE: ("Focus, Absolute", CV4L2_CTRL_TYPE_INTEGER),
    ]

    private struct Slot { var memory: UnsafeMutableRawPointer; var length: Int; var queued: Bool; var mapped: Bool }

    private let lock = NSLock()
    private let clock: CaptureClock
    private let modes: [Mode]
    private var paths: Set<String>
    private var plugged = true
    private var nextFD: Int32 = 100
    private var openFD: Int32?
    private var current: Mode
    private var sizeImage: Int = 0
    private var intervalNanos: UInt64 = 33_333_333
    private var slots: [Slot] = []
    private var queue: [Int] = []
    private var streaming = false
    private var nextFrameAt: UInt64 = 0
    private var stalledUntil: UInt64 = 0
    private var produced: UInt64 = 0
    private var sequence: UInt32 = 0
    private var controls: [UInt32: Control]
    private var jpegCache: [UInt8] = []
    private var log: [UInt64] = []

    /// Buffer counts the driver accepts; REQBUFS clamps to this range.
    public var bufferCountRange: ClosedRange<Int> = 2...8
    /// Faults keyed by frame number.
    public var faults: [UInt64: Fault] = [:]

    /// A camera reachable at `paths` (e.g. "/dev/video0" and a /dev/v4l/by-id link) offering `modes`.
    public init(paths: [String] = ["/dev/video0"],
                modes: [Mode] = [Mode(.mjpeg, 1280, 720), Mode(.mjpeg, 640, 480), Mode(.yuyv, 640, 480)],
                controls: [String: Control] = [:], clock: CaptureClock = SystemCaptureClock.shared) {
        self.paths = Set(paths); self.modes = modes; self.clock = clock
        current = modes.first ?? Mode(.grey, 640, 480)
        var byID: [UInt32: Control] = [:]
        for (name, c) in controls { if let id = CameraControl.ids[name] { byID[id] = c } }
        self.controls = byID
    }

    deinit { for s in slots { s.memory.deallocate() } }

    // MARK: test controls

    /// Pulls the cable: open descriptors get ENODEV, poll gets POLLERR|POLLHUP, open gets ENOENT.
    public func unplug() { lock.withLock { plugged = false } }
    /// Plugs the camera back in (a new open succeeds).
    public func replug() { lock.withLock { plugged = true } }
    /// Times (clock nanos) of every open attempt, successful or not.
    public var openAttempts: [UInt64] { lock.withLock { log } }
    /// Whether a descriptor is open and streaming.
    public var isStreaming: Bool { lock.withLock { streaming } }
    /// Whether a descriptor is open.
    public var isOpen: Bool { lock.withLock { openFD != nil } }
    /// Current value of a control by name, nil if the camera lacks it.
    public func controlValue(_ name: String) -> Int32? {
        lock.withLock { CameraControl.ids[name].flatMap { controls[$0]?.value } }
    }
    /// The camera changes a control's value by itself (what auto exposure or auto white balance do).
    public func drift(_ name: String, to value: Int32) {
        lock.withLock { if let id = CameraControl.ids[name], controls[id] != nil { controls[id]?.value = value } }
    }
    /// Frames delivered so far.
    public var framesProduced: UInt64 { lock.withLock { produced } }

    // MARK: V4L2Device

    private func checkFD(_ fd: Int32, _ call: String) throws {
        guard plugged else { throw V4L2Error(call, ENODEV) }
        guard fd == openFD else { throw V4L2Error(call, EBADF) }
    }

    public func open(path: String) throws -> Int32 {
        try lock.withLock {
            log.append(clock.nowNanos())
            guard plugged, paths.contains(path) else { throw V4L2Error("open \(path)", ENOENT) }
            guard openFD == nil else { throw V4L2Error("open \(path)", EBUSY) }
            nextFD += 1; openFD = nextFD
            return nextFD
        }
    }

    public func close(_ fd: Int32) {
        lock.withLock {
            guard fd == openFD else { return }
            for s in slots { s.memory.deallocate() }
            slots = []; queue = []; streaming = false; openFD = nil
        }
    }

    public func queryCapabilities(_ fd: Int32) throws -> v4l2_capability {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_QUERYCAP")
            var cap = v4l2_capability()
            withUnsafeMutableBytes(of: &cap.card) { raw in
                for (i, b) in "Simulated camera".utf8.enumerated() where i < raw.count - 1 { raw[i] = b }
            }
            cap.device_caps = CV4L2_CAP_VIDEO_CAPTURE | CV4L2_CAP_STREAMING
            cap.capabilities = cap.device_caps | CV4L2_CAP_DEVICE_CAPS
            return cap
        }
    }

    public func enumerateFormat(_ fd: Int32, index: UInt32) throws -> v4l2_fmtdesc {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_ENUM_FMT")
            var seen: [V4L2PixelFormat] = []
            for m in modes where !seen.contains(m.format) { seen.append(m.format) }
            guard Int(index) < seen.count else { throw V4L2Error("VIDIOC_ENUM_FMT", EINVAL) }
            var d = v4l2_fmtdesc(); d.index = index; d.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            d.pixelformat = seen[Int(index)].fourcc
            return d
        }
    }

    public func setFormat(_ fd: Int32, _ format: inout v4l2_format) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_S_FMT")
            guard slots.isEmpty else { throw V4L2Error("VIDIOC_S_FMT", EBUSY) }
            guard let pf = V4L2PixelFormat(fourcc: format.fmt.pix.pixelformat) else { throw V4L2Error("VIDIOC_S_FMT", EINVAL) }
            let candidates = modes.filter { $0.format == pf }
            let w = Int(format.fmt.pix.width), h = Int(format.fmt.pix.height)
            guard let best = candidates.min(by: { abs($0.width * $0.height - w * h) < abs($1.width * $1.height - w * h) })
            else { throw V4L2Error("VIDIOC_S_FMT", EINVAL) }
            current = best
            sizeImage = pf.pixelFormat.byteCount(width: best.width, height: best.height) ?? best.width * best.height * 2
            format.fmt.pix.width = UInt32(best.width); format.fmt.pix.height = UInt32(best.height)
            format.fmt.pix.bytesperline = pf == .mjpeg ? 0 : UInt32(pf == .yuyv ? best.width * 2 : best.width)
            format.fmt.pix.sizeimage = UInt32(sizeImage)
            format.fmt.pix.field = 1 // V4L2_FIELD_NONE
        }
    }

    public func getStreamParameters(_ fd: Int32, _ parm: inout v4l2_streamparm) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_G_PARM")
            parm.parm.capture.capability = CV4L2_CAP_TIMEPERFRAME
            parm.parm.capture.timeperframe = v4l2_fract(numerator: UInt32(intervalNanos / 1000), denominator: 1_000_000)
        }
    }

    public func setStreamParameters(_ fd: Int32, _ parm: inout v4l2_streamparm) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_S_PARM")
            let t = parm.parm.capture.timeperframe
            guard t.denominator > 0, t.numerator > 0 else { throw V4L2Error("VIDIOC_S_PARM", EINVAL) }
            // The camera runs at most 60 fps.
            intervalNanos = max(16_666_667, UInt64(t.numerator) * 1_000_000_000 / UInt64(t.denominator))
            parm.parm.capture.capability = CV4L2_CAP_TIMEPERFRAME
            parm.parm.capture.timeperframe = v4l2_fract(numerator: UInt32(intervalNanos / 1000), denominator: 1_000_000)
        }
    }

    public func requestBuffers(_ fd: Int32, _ request: inout v4l2_requestbuffers) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_REQBUFS")
            guard request.memory == CV4L2_MEMORY_MMAP, request.type == CV4L2_BUF_TYPE_VIDEO_CAPTURE else {
                throw V4L2Error("VIDIOC_REQBUFS", EINVAL)
            }
            guard !streaming else { throw V4L2Error("VIDIOC_REQBUFS", EBUSY) }
            if request.count == 0 {
                guard !slots.contains(where: \.mapped) else { throw V4L2Error("VIDIOC_REQBUFS", EBUSY) }
                for s in slots { s.memory.deallocate() }
                slots = []; queue = []
                return
            }
            let n = min(max(Int(request.count), bufferCountRange.lowerBound), bufferCountRange.upperBound)
            slots = (0..<n).map { _ in
                Slot(memory: .allocate(byteCount: max(sizeImage, 1), alignment: 64), length: max(sizeImage, 1),
                     queued: false, mapped: false)
            }
            request.count = UInt32(n)
        }
    }

    public func queryBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_QUERYBUF")
            let i = Int(buffer.index)
            guard i < slots.count else { throw V4L2Error("VIDIOC_QUERYBUF", EINVAL) }
            buffer.length = UInt32(slots[i].length)
            buffer.m.offset = UInt32(i) * 0x10000
        }
    }

    public func map(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        try lock.withLock {
            try checkFD(fd, "mmap")
            let i = offset / 0x10000
            guard offset % 0x10000 == 0, i < slots.count, length <= slots[i].length else { throw V4L2Error("mmap", EINVAL) }
            slots[i].mapped = true
            return slots[i].memory
        }
    }

    public func unmap(_ address: UnsafeMutableRawPointer, length: Int) {
        lock.withLock { if let i = slots.firstIndex(where: { $0.memory == address }) { slots[i].mapped = false } }
    }

    public func queueBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_QBUF")
            let i = Int(buffer.index)
            guard i < slots.count, !slots[i].queued, buffer.memory == CV4L2_MEMORY_MMAP else {
                throw V4L2Error("VIDIOC_QBUF", EINVAL)
            }
            slots[i].queued = true
            queue.append(i)
        }
    }

    public func streamOn(_ fd: Int32) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_STREAMON")
            guard !slots.isEmpty else { throw V4L2Error("VIDIOC_STREAMON", EINVAL) }
            streaming = true
            nextFrameAt = clock.nowNanos() + intervalNanos
        }
    }

    public func streamOff(_ fd: Int32) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_STREAMOFF")
            streaming = false
            for i in slots.indices { slots[i].queued = false }
            queue = []
        }
    }

    public func queryControl(_ fd: Int32, _ control: inout v4l2_queryctrl) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_QUERYCTRL")
            // As the kernel: with V4L2_CTRL_FLAG_NEXT_CTRL the next control with a larger id, EINVAL after the last.
            let next = control.id & CV4L2_CTRL_FLAG_NEXT_CTRL != 0
            let asked = control.id & ~(CV4L2_CTRL_FLAG_NEXT_CTRL | CV4L2_CTRL_FLAG_NEXT_COMPOUND)
            let id = next ? controls.keys.filter { $0 > asked }.min() : asked
            guard let id, let c = controls[id] else { throw V4L2Error("VIDIOC_QUERYCTRL", EINVAL) }
            let definition = Self.controlDefinitions[id] ?? (name: "Control \(id)", type: CV4L2_CTRL_TYPE_INTEGER)
            control = v4l2_queryctrl()
            control.id = id; control.type = definition.type
            withUnsafeMutableBytes(of: &control.name) { raw in
                for (i, byte) in definition.name.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
            }
            control.minimum = c.minimum; control.maximum = c.maximum; control.default_value = c.defaultValue
            control.step = 1; control.flags = 0
        }
    }

    public func getControl(_ fd: Int32, _ control: inout v4l2_control) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_G_CTRL")
            guard let c = controls[control.id] else { throw V4L2Error("VIDIOC_G_CTRL", EINVAL) }
            control.value = c.value
        }
    }

    public func setControl(_ fd: Int32, _ control: inout v4l2_control) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_S_CTRL")
            guard var c = controls[control.id] else { throw V4L2Error("VIDIOC_S_CTRL", EINVAL) }
            guard (c.minimum...c.maximum).contains(control.value) else { throw V4L2Error("VIDIOC_S_CTRL", ERANGE) }
            c.value = control.value; controls[control.id] = c
        }
    }

    /// Applies the fault due for the next frame (unplug, stall, gap); true if a frame can be produced now.
    private func frameReady(now: UInt64) -> Bool {
        guard streaming, !queue.isEmpty, now >= nextFrameAt, now >= stalledUntil else { return false }
        switch faults[produced] {
        case .unplug?:
            faults[produced] = nil; plugged = false; return false
        case .stall(let n)?:
            faults[produced] = nil; stalledUntil = now + n; return false
        default:
            return true
        }
    }

    public func poll(_ fd: Int32, timeoutMilliseconds: Int32) throws -> Int16 {
        let (revents, wait): (Int16, UInt64) = lock.withLock {
            guard plugged, fd == openFD else { return (Int16(POLLERR | POLLHUP), 0) }
            guard streaming else { return (Int16(POLLERR), 0) }
            let now = clock.nowNanos()
            if frameReady(now: now) { return (Int16(POLLIN), 0) }
            if !plugged { return (Int16(POLLERR | POLLHUP), 0) }
            let timeout = UInt64(max(0, timeoutMilliseconds)) * 1_000_000
            let due = max(nextFrameAt, stalledUntil)
            if !queue.isEmpty, due > now, due - now <= timeout { return (Int16(POLLIN), due - now) }
            return (0, timeout)
        }
        clock.sleep(nanos: wait)
        return revents
    }

    public func dequeueBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws {
        try lock.withLock {
            try checkFD(fd, "VIDIOC_DQBUF")
            guard streaming else { throw V4L2Error("VIDIOC_DQBUF", EINVAL) }
            let now = clock.nowNanos()
            guard frameReady(now: now) else {
                if !plugged { throw V4L2Error("VIDIOC_DQBUF", ENODEV) }
                throw V4L2Error("VIDIOC_DQBUF", EAGAIN)
            }
            let i = queue.removeFirst()
            slots[i].queued = false
            let fault = faults.removeValue(forKey: produced)
            if case .sequenceGap(let n)? = fault { sequence &+= UInt32(n) }
            var used = fill(slots[i].memory, capacity: slots[i].length)
            if case .shortPayload(let n)? = fault { used = min(used, n) }
            buffer.index = UInt32(i)
            buffer.bytesused = UInt32(used)
            buffer.sequence = sequence
            buffer.flags = CV4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | (fault == .errorFlag ? CV4L2_BUF_FLAG_ERROR : 0)
            // Stamped when it was captured (it became due), as a driver does, not when it is dequeued: a frame that
            // waited in its buffer is older than the moment it is read.
            let captured = min(now, max(nextFrameAt, stalledUntil))
            buffer.timestamp = timeval(tv_sec: Int(captured / 1_000_000_000), tv_usec: Int(captured % 1_000_000_000) / 1000)
            sequence &+= 1
            produced += 1
            nextFrameAt = now + intervalNanos
        }
    }

    /// A recognisable test picture: a bright square moving one step per frame on a dark gradient.
    private func fill(_ p: UnsafeMutableRawPointer, capacity: Int) -> Int {
        let w = current.width, h = current.height
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        switch current.format {
        case .mjpeg:
            if jpegCache.isEmpty, let encoder = try? JPEGEncoder() {
                let gray = PixelBuffer(capacity: w * h)
                gray.width = w; gray.height = h; gray.format = .gray8; gray.byteCount = w * h
                let g = gray.bytes.assumingMemoryBound(to: UInt8.self)
                for y in 0..<h { for x in 0..<w { g[y * w + x] = UInt8(truncatingIfNeeded: (x + y) / 8) } }
                try? encoder.encode(gray, quality: 80) { jpegCache = Array($0) }
            }
            let n = min(capacity, jpegCache.count)
            jpegCache.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: n) }
            return n
        case .yuyv, .grey, .nv12:
            let n = min(capacity, current.format.pixelFormat.byteCount(width: w, height: h) ?? 0)
            let shade = UInt8(truncatingIfNeeded: 16 + Int(produced % 200))
            memset(bytes, Int32(shade), n)
            if current.format == .yuyv {
                var i = 1
                while i < n { bytes[i] = 128; i += 2 }
            } else if current.format == .nv12 {
                memset(bytes + w * h, 128, n - w * h)
            }
            return n
        }
    }
}
