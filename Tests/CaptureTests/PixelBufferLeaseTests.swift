import Capture
import Foundation
import Imaging
import XCTest

/// A pooled buffer goes back to its pool exactly once, however its lease ends.
final class PixelBufferLeaseTests: XCTestCase {
    func testReleasingTwiceReturnsTheBufferOnce() throws {
        let pool = PixelBufferPool(count: 2, capacity: 16)
        let lease = try XCTUnwrap(pool.take())
        XCTAssertEqual(pool.available, 1)
        lease.release()
        lease.release()
        XCTAssertEqual(pool.returns, 1)
        XCTAssertEqual(pool.available, 2)
        XCTAssertFalse(lease.isHeld)
    }

    func testALeaseDroppedWithoutReleaseStillReturnsItsBuffer() throws {
        let pool = PixelBufferPool(count: 2, capacity: 16)
        do { _ = try XCTUnwrap(pool.take()) }
        XCTAssertEqual(pool.returns, 1)
        XCTAssertEqual(pool.available, 2)
    }

    func testCopiesOfAFrameReturnTheBufferOnceWhenTheLastOneEnds() throws {
        let pool = PixelBufferPool(count: 1, capacity: 16)
        var copies: [Frame] = []
        do {
            let frame = Frame(cameraID: "c", sequence: 0, monotonicNanos: 0, wallClock: Date(), lease: try XCTUnwrap(pool.take()))
            copies = [frame, frame, frame]
        }
        XCTAssertNil(pool.take(), "the only buffer is still out while copies of its frame exist")
        copies.removeLast(2)
        XCTAssertEqual(pool.returns, 0)
        copies[0].release()
        copies.removeAll()
        XCTAssertEqual(pool.returns, 1)
        XCTAssertEqual(pool.takes, 1)
        XCTAssertEqual(pool.available, 1)
    }

    func testAnUnpooledFrameReleasesNothing() {
        let pool = PixelBufferPool(count: 1, capacity: 16)
        let frame = Frame(cameraID: "c", sequence: 0, monotonicNanos: 0, wallClock: Date(), pixels: PixelBuffer(capacity: 4))
        frame.release()
        XCTAssertEqual(pool.returns, 0)
        XCTAssertEqual(pool.available, 1)
    }

    /// A buffer from before a resize comes back as a buffer of the new size, still one for one.
    func testABufferOutDuringAResizeComesBackAtTheNewSize() throws {
        let pool = PixelBufferPool(count: 2, capacity: 16)
        let lease = try XCTUnwrap(pool.take())
        pool.resize(capacity: 64)
        lease.release()
        XCTAssertEqual(pool.available, 2)
        let a = try XCTUnwrap(pool.take()), b = try XCTUnwrap(pool.take())
        XCTAssertGreaterThanOrEqual(min(a.buffer.capacity, b.buffer.capacity), 64)
    }
}
