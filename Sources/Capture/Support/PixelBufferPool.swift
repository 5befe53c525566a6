import Foundation
import Imaging

/// A fixed set of pixel buffers a source fills and the pipeline hands back: no allocation per frame.
/// When every buffer is out (the pipeline is behind), `take` returns nil and the source drops the frame.
///
/// Buffers leave the pool only inside a `PixelBufferLease`, which returns its buffer exactly once (when
/// released, or when the last reference to it goes away), so no path through the pipeline can leak a buffer
/// or hand one back twice.
public final class PixelBufferPool: @unchecked Sendable {
    // Invariant: `free` is only touched under `lock`; buffers in it are owned by no one else.
    private let lock = NSLock()
    private var free: [PixelBuffer]
    private var takenCount: UInt64 = 0
    private var returnedCount: UInt64 = 0
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

    /// A free buffer, leased until the lease is released or dropped; nil if all are in use.
    public func take() -> PixelBufferLease? {
        guard let buffer = lock.withLock({ () -> PixelBuffer? in
            guard let b = free.popLast() else { return nil }
            takenCount += 1
            return b
        }) else { return nil }
        return PixelBufferLease(buffer, pool: self)
    }

    /// Takes a buffer back (only `PixelBufferLease` calls this, once per lease). Buffers smaller than the
    /// pool's current size (from before a `resize`) are dropped and replaced, so the pool converges to the new size.
    fileprivate func giveBack(_ buffer: PixelBuffer) {
        lock.withLock {
            returnedCount += 1
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

    /// Buffers leased out since the pool was made.
    public var takes: UInt64 { lock.withLock { takenCount } }

    /// Buffers handed back since the pool was made. With nothing out, `returns == takes` and
    /// `available == count` say every lease came back exactly once (the leak and double-return check).
    public var returns: UInt64 { lock.withLock { returnedCount } }
}

/// The one owner of a pooled pixel buffer while it is out of its pool. `release()` hands the buffer back; if
/// no one calls it, the lease's end does. Either way the buffer goes back exactly once: later calls do nothing.
///
/// Read the pixels only while you hold the lease (keep the `Frame` alive, or release after the last read):
/// a buffer handed back is refilled by the source.
public final class PixelBufferLease: @unchecked Sendable {
    // Invariant: `pool` is read and cleared only under `lock`, so exactly one caller returns the buffer.
    private let lock = NSLock()
    private var pool: PixelBufferPool?
    /// The leased pixels.
    public let buffer: PixelBuffer

    fileprivate init(_ buffer: PixelBuffer, pool: PixelBufferPool) {
        self.buffer = buffer; self.pool = pool
    }

    /// A buffer that belongs to no pool (a one-off image, a test frame): releasing it does nothing.
    public init(unpooled buffer: PixelBuffer) {
        self.buffer = buffer; self.pool = nil
    }

    /// Hands the buffer back to its pool; does nothing after the first call.
    public func release() {
        let owner = lock.withLock { () -> PixelBufferPool? in
            defer { pool = nil }
            return pool
        }
        owner?.giveBack(buffer)
    }

    /// Whether the buffer is still out of its pool (false once released, and for unpooled buffers).
    public var isHeld: Bool { lock.withLock { pool != nil } }

    deinit { release() }
}
