import CV4L2
import Foundation

/// A failed device call: which call and the errno it gave (ENODEV after unplug, EINVAL for an unsupported
/// format, EAGAIN when no buffer is ready...).
public struct V4L2Error: Error, Equatable, CustomStringConvertible {
    /// The call that failed ("open", "VIDIOC_S_FMT", "mmap"...).
    public var call: String
    /// The errno value.
    public var code: Int32
    /// Makes an error.
    public init(_ call: String, _ code: Int32) { self.call = call; self.code = code }
    /// "VIDIOC_DQBUF: No such device".
    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// Exactly the calls `V4L2Source` makes on a capture device, so the same streaming code runs over libv4l2 on a
/// plant PC and over `SimulatedV4L2Device` in tests. Structs are the kernel's own (`linux/videodev2.h`).
/// Every call throws `V4L2Error` with the errno on failure.
public protocol V4L2Device: AnyObject, Sendable {
    /// Opens the device node (non-blocking); returns the file descriptor.
    func open(path: String) throws -> Int32
    /// Closes the descriptor.
    func close(_ fd: Int32)
    /// VIDIOC_QUERYCAP.
    func queryCapabilities(_ fd: Int32) throws -> v4l2_capability
    /// VIDIOC_ENUM_FMT for `index` (EINVAL past the last format).
    func enumerateFormat(_ fd: Int32, index: UInt32) throws -> v4l2_fmtdesc
    /// VIDIOC_S_FMT; the driver writes back what it chose.
    func setFormat(_ fd: Int32, _ format: inout v4l2_format) throws
    /// VIDIOC_G_PARM.
    func getStreamParameters(_ fd: Int32, _ parm: inout v4l2_streamparm) throws
    /// VIDIOC_S_PARM; the driver writes back the frame interval it chose.
    func setStreamParameters(_ fd: Int32, _ parm: inout v4l2_streamparm) throws
    /// VIDIOC_REQBUFS; the driver may change `count`.
    func requestBuffers(_ fd: Int32, _ request: inout v4l2_requestbuffers) throws
    /// VIDIOC_QUERYBUF.
    func queryBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws
    /// VIDIOC_QBUF.
    func queueBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws
    /// VIDIOC_DQBUF (EAGAIN when nothing is ready).
    func dequeueBuffer(_ fd: Int32, _ buffer: inout v4l2_buffer) throws
    /// VIDIOC_STREAMON.
    func streamOn(_ fd: Int32) throws
    /// VIDIOC_STREAMOFF.
    func streamOff(_ fd: Int32) throws
    /// VIDIOC_QUERYCTRL.
    func queryControl(_ fd: Int32, _ control: inout v4l2_queryctrl) throws
    /// VIDIOC_S_CTRL.
    func setControl(_ fd: Int32, _ control: inout v4l2_control) throws
    /// VIDIOC_G_CTRL.
    func getControl(_ fd: Int32, _ control: inout v4l2_control) throws
    /// Maps a queried buffer.
    func map(_ fd: Int32, length: Int, offset: Int) throws -> UnsafeMutableRawPointer
    /// Unmaps a buffer.
    func unmap(_ address: UnsafeMutableRawPointer, length: Int)
    /// poll(2) for POLLIN with a timeout in milliseconds; returns revents (0 on timeout).
    func poll(_ fd: Int32, timeoutMilliseconds: Int32) throws -> Int16
}
