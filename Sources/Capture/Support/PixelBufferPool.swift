import Foundation
import Imaging

/// A fixed set of pixel buffers a source fills and the pipeline hands back: no allocation per frame.
/// When every buffer is out (the pipeline is behind), `take` returns nil and the source drops the frame.
public final class PixelBufferPool: @unchecked Sendable {
    // Invariant: `free` is only touched under `lock`; buffers in it are owned by no one else.
    private let lock = NSLock()
    private var free: [PixelBuffer]
    /// Bytes per buffer.
    public private(set) var bufferCapacity: Int
    /// Buffers in the pool, free or out.
    public private(set) var count: Int

    /// Makes `count` buffers of `capacity` bytes each.
    public init(count: Int, capacity: Int) {
        self.count = max(1, count); bufferCapacity = max(1, capacity)
        free = (0..<self.count).map { _ in PixelBuffer(capacity: max(1, capacity)) }
        free.reserveCapacity(self.count)
    }

    /// A free buffer, or nil if all are in use.
    public func take() -> PixelBuffer? { lock.withLock { free.popLast() } }

    /// Returns a buffer. Buffers smaller than the pool's current size (from before a `resize`) are dropped
    /// and replaced, so the pool converges to the new size.
    public func recycle(_ buffer: PixelBuffer) {
        lock.withLock {
            if buffer.capacity >= bufferCapacity { free.append(buffer) } else { free.append(PixelBuffer(capacity: bufferCapacity)) }
        }
    }

    /// Grows buffers to at least `capacity` bytes (after a format change): free ones now, others on return.
    public func resize(capacity: Int) {
        lock.withLock {
            guard capacity > bufferCapacity else { return }
            bufferCapacity = capacity
            free = free.map { _ in PixelBuffer(capacity: capacity) }
        }
    }

    /// Number of free buffers.
    public var available: Int { lock.withLock { free.count } }
}
