import CV4L2
import Foundation

/// The production `V4L2Device`: libv4l2 calls (which also convert formats for cameras that need it).
/// Stateless apart from the kernel's, so it is safely shared.
public final class LibV4L2Device: V4L2Device {
    /// Makes the device layer.
    public init() {}

    private func check(_ rc: Int32, _ call: String) throws {
        if rc < 0 { throw V4L2Error(call, errno) }
    }

    private func ioctl<T>(_ fd: Int32, _ request: UInt, _ value: inout T, _ call: String) throws {
        while true {
            let rc = withUnsafeMutablePointer(to: &value) { cv4l2_ioctl(fd, request, UnsafeMutableRawPointer($0)) }
            if rc < 0 && errno == EINTR { continue }
            try check(rc, call)
            return
        }
    }

    public func open(path: String) throws -> Int32 {
        let fd = cv4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        try check(fd, "open \(path)")
        return fd
    }
    public func close(_ fd: Int32) { _ = cv4l2_close(fd) }
    public func queryCapabilities(_ fd: Int32) throws -> v4l2_capability {
        var cap = v4l2_capability(); try ioctl(fd, CV4L2_VIDIOC_QUERYCAP, &cap, "VIDIOC_QUERYCAP"); return cap
    }
    public func enumerateFormat(_ fd: Int32, index: UInt32) throws -> v4l2_fmtdesc {
        var d = v4l2_fmtdesc(); d.index = index; d.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        try ioctl(fd, CV4L2_VIDIOC_ENUM_FMT, &d, "VIDIOC_ENUM_FMT"); return d
    }
    public func setFormat(_ fd: Int32, _ format: inout v4l2_format) throws {
        try ioctl(fd, CV4L2_VIDIOC_S_FMT, &format, "VIDIOC_S_FMT")
    }
    public func getStreamParameters(_ fd: Int32, _ parm: inout v4l2_streamparm) throws {
        try ioctl(fd, CV4L2_VIDIOC_G_PARM, &parm, "VIDIOC_G_PARM")
    }
    public func setStreamParameters(_ fd: Int32, _ parm: inout v4l2_streamparm) throws {
        try ioctl(fd, CV4L2_VIDIOC_S_PARM, &parm, "VIDIOC_S_PARM")
    }
    public func requestBuffers(_ fd: Int32, _ request: inout v4l2_requestbuffers) throws {
        try ioctl(fd, CV4L2_VIDIOC_REQBUFS, &request, "VIDIOC_REQBUFS")
    }
    public func queryBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws {
        try ioctl(fd, CV4L2_VIDIOC_QUERYBUF, &buffer, "VIDIOC_QUERYBUF")
    }
    public func queueBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws {
        try ioctl(fd, CV4L2_VIDIOC_QBUF, &buffer, "VIDIOC_QBUF")
    }
    public func dequeueBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws {
        try ioctl(fd, CV4L2_VIDIOC_DQBUF, &buffer, "VIDIOC_DQBUF")
    }
    public func streamOn(_ fd: Int32) throws {
        var type = Int32(CV4L2_BUF_TYPE_VIDEO_CAPTURE); try ioctl(fd, CV4L2_VIDIOC_STREAMON, &type, "VIDIOC_STREAMON")
    }
    public func streamOff(_ fd: Int32) throws {
        var type = Int32(CV4L2_BUF_TYPE_VIDEO_CAPTURE); try ioctl(fd, CV4L2_VIDIOC_STREAMOFF, &type, "VIDIOC_STREAMOFF")
    }
    public func queryControl(_ fd: Int32, _ control: inout v4l2_queryctrl) throws {
        try ioctl(fd, CV4L2_VIDIOC_QUERYCTRL, &control, "VIDIOC_QUERYCTRL")
    }
    public func setControl(_ fd: Int32, _ control: inout v4l2_control) throws {
        try ioctl(fd, CV4L2_VIDIOC_S_CTRL, &control, "VIDIOC_S_CTRL")
    }
    public func getControl(_ fd: Int32, _ control: inout v4l2_control) throws {
        try ioctl(fd, CV4L2_VIDIOC_G_CTRL, &control, "VIDIOC_G_CTRL")
    }
    public func map(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer {
        guard let p = cv4l2_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(offset)),
              p != UnsafeMutableRawPointer(bitPattern: -1) else { throw V4L2Error("mmap", errno) }
        return p
    }
    public func unmap(_ address: UnsafeMutableRawPointer, length: Int) { _ = cv4l2_munmap(address, length) }
    public func poll(_ fd: Int32, timeoutMilliseconds: Int32) throws -> Int16 {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let rc = Glibc.poll(&p, 1, timeoutMilliseconds)
            if rc < 0 && errno == EINTR { continue }
            try check(rc, "poll")
            return rc == 0 ? 0 : p.revents
        }
    }
}
