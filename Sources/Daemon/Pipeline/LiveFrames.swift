import Detection
import Foundation
import Imaging

/// The latest judged frame of each camera, for `GET /api/v1/cameras/{id}/frame.jpg`. The capture buffer goes
/// back to its pool when the worker is done with it, as always: the worker copies the pixels it already has
/// (raw, or the JPEG as captured) into a buffer of this camera's, and the in-order stage publishes it with what
/// was found on it. Only the latest is kept, as a reference; nothing is encoded until someone asks.
///
/// Buffers are recycled: a published frame's buffer goes back to its camera's spares when the next one replaces
/// it, unless a request is still reading it (then it is simply released when the request ends), so the steady
/// state allocates nothing.
///
/// `@unchecked Sendable`: `slots` and every `Latest.readers` are guarded by `lock`; a `Latest`'s pixels are
/// never written once published.
final class LiveFrames: @unchecked Sendable {
    /// A camera's latest frame and what it gave.
    final class Latest: @unchecked Sendable {
        /// A copy of the frame's pixels (any capture format, JPEG included).
        let pixels: PixelBuffer
        let sequence: UInt64
        let captureTime: Date
        /// The defects it was judged with (empty when OK or not judged).
        let defects: [Defect]
        /// Why the frame was not judged, when it was not.
        let failure: String?
        /// The ROI and masks in force for it.
        let region: RegionSettings
        /// Requests reading `pixels` now (guarded by the owner's lock).
        fileprivate var readers = 0

        init(pixels: PixelBuffer, sequence: UInt64, captureTime: Date, defects: [Defect], failure: String?,
             region: RegionSettings) {
            self.pixels = pixels; self.sequence = sequence; self.captureTime = captureTime; self.defects = defects
            self.failure = failure; self.region = region
        }
    }

    private struct Slot {
        var latest: Latest?
        var spares: [PixelBuffer] = []
    }

    /// Spare buffers kept per camera: one per worker that may be copying plus the one being replaced.
    private let maxSpares: Int
    private let lock = NSLock()
    private var slots: [String: Slot] = [:]

    /// `workers`: the size of the worker pool (frames of one camera in flight at once).
    init(workers: Int) { maxSpares = max(2, workers + 1) }

    /// A copy of `pixels` for camera `camera`, in one of its spare buffers when one is large enough. Called by a
    /// worker before it releases the capture buffer.
    func copy(_ pixels: PixelBuffer, camera: String) -> PixelBuffer {
        let need = max(1, pixels.byteCount)
        let spare: PixelBuffer? = lock.withLock {
            guard let i = slots[camera]?.spares.firstIndex(where: { $0.capacity >= need }) else { return nil }
            return slots[camera]?.spares.remove(at: i)
        }
        let out = spare ?? PixelBuffer(capacity: need)
        out.bytes.copyMemory(from: pixels.bytes, byteCount: pixels.byteCount)
        out.byteCount = pixels.byteCount; out.format = pixels.format
        out.width = pixels.width; out.height = pixels.height
        return out
    }

    /// Makes `latest` camera `camera`'s latest frame (called in frame order by the camera's in-order stage).
    func publish(_ latest: Latest, camera: String) {
        lock.withLock {
            var slot = slots[camera] ?? Slot()
            if let old = slot.latest, old.readers == 0, slot.spares.count < maxSpares { slot.spares.append(old.pixels) }
            slot.latest = latest
            slots[camera] = slot
        }
    }

    /// Runs `body` on camera `camera`'s latest frame (nil when it has none yet), outside the lock: frames keep
    /// being published meanwhile, and the one read is not recycled until `body` returns.
    func read<T>(camera: String, _ body: (Latest?) throws -> T) rethrows -> T {
        let latest: Latest? = lock.withLock {
            guard let l = slots[camera]?.latest else { return nil }
            l.readers += 1
            return l
        }
        defer { if let latest { lock.withLock { latest.readers -= 1 } } }
        return try body(latest)
    }

    /// Forgets camera `camera` (removed by a reload, or its lane replaced).
    func remove(camera: String) { lock.withLock { slots[camera] = nil } }
}
