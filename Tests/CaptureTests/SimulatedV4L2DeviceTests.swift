import CV4L2
import Foundation
import XCTest
@testable import Capture
import CaptureTesting

/// The simulated camera keeps the kernel's semantics, so tests against it mean something.
final class SimulatedV4L2DeviceTests: XCTestCase {
    private func buffer(_ index: UInt32 = 0) -> v4l2_buffer {
        var b = v4l2_buffer(); b.index = index; b.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE; b.memory = CV4L2_MEMORY_MMAP
        return b
    }

    private func errno(_ body: () throws -> Void) -> Int32? {
        do { try body(); return nil } catch let e as V4L2Error { return e.code } catch { return -1 }
    }

    func testBufferQueueSemantics() throws {
        let clock = ManualCaptureClock()
        let dev = SimulatedV4L2Device(modes: [.init(.grey, 320, 240)], clock: clock)
        dev.bufferCountRange = 2...4
        XCTAssertEqual(errno { _ = try dev.open(path: "/dev/video9") }, ENOENT)
        let fd = try dev.open(path: "/dev/video0")
        XCTAssertEqual(errno { _ = try dev.open(path: "/dev/video0") }, EBUSY)

        var f = v4l2_format(); f.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        f.fmt.pix.pixelformat = CV4L2_PIX_FMT_MJPEG; f.fmt.pix.width = 320; f.fmt.pix.height = 240
        XCTAssertEqual(errno { try dev.setFormat(fd, &f) }, EINVAL, "format the camera lacks")
        f.fmt.pix.pixelformat = CV4L2_PIX_FMT_GREY; f.fmt.pix.width = 1000; f.fmt.pix.height = 1000
        try dev.setFormat(fd, &f)
        XCTAssertEqual([f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.sizeimage], [320, 240, 320 * 240])

        var req = v4l2_requestbuffers(); req.count = 10; req.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE; req.memory = CV4L2_MEMORY_MMAP
        try dev.requestBuffers(fd, &req)
        XCTAssertEqual(req.count, 4)
        for i in 0..<req.count {
            var b = buffer(i); try dev.queryBuffer(fd, &b)
            _ = try dev.map(fd, length: Int(b.length), offset: Int(b.m.offset))
        }
        var b0 = buffer(0), b1 = buffer(1)
        XCTAssertEqual(errno { try dev.streamOn(fd) }, nil)
        try dev.queueBuffer(fd, &b1); try dev.queueBuffer(fd, &b0)
        XCTAssertEqual(errno { var again = buffer(1); try dev.queueBuffer(fd, &again) }, EINVAL, "already queued")
        var out = buffer()
        XCTAssertEqual(errno { try dev.dequeueBuffer(fd, &out) }, EAGAIN, "nothing ready before the frame interval")
        XCTAssertEqual(try dev.poll(fd, timeoutMilliseconds: 1000), Int16(POLLIN))
        try dev.dequeueBuffer(fd, &out)
        XCTAssertEqual(out.index, 1, "filled in queue order")
        XCTAssertEqual(out.bytesused, 320 * 240)
        XCTAssertEqual(try dev.poll(fd, timeoutMilliseconds: 1000), Int16(POLLIN))
        try dev.dequeueBuffer(fd, &out)
        XCTAssertEqual(out.index, 0)
        XCTAssertEqual(out.sequence, 1)
        let before = clock.nowNanos()
        XCTAssertEqual(try dev.poll(fd, timeoutMilliseconds: 500), 0, "no buffer queued: poll times out")
        XCTAssertEqual(clock.nowNanos() - before, 500_000_000)

        dev.unplug()
        XCTAssertEqual(try dev.poll(fd, timeoutMilliseconds: 10), Int16(POLLERR | POLLHUP))
        XCTAssertEqual(errno { try dev.dequeueBuffer(fd, &out) }, ENODEV)
        XCTAssertEqual(errno { var b = buffer(0); try dev.queueBuffer(fd, &b) }, ENODEV)
        dev.close(fd)
        XCTAssertEqual(errno { _ = try dev.open(path: "/dev/video0") }, ENOENT)
        dev.replug()
        XCTAssertNoThrow(try dev.open(path: "/dev/video0"))
    }
}
