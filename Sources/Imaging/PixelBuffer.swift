import Foundation

/// How the bytes of a `PixelBuffer` are laid out.
public enum PixelFormat: String, Sendable, Codable, CaseIterable {
    /// 3 bytes per pixel, R G B, rows packed.
    case rgb24
    /// 1 byte per pixel (V4L2 GREY / Y8).
    case gray8
    /// 4:2:2 packed Y0 U Y1 V (V4L2 YUYV).
    case yuyv
    /// 4:2:0 Y plane followed by interleaved UV plane (V4L2 NV12).
    case nv12
    /// A compressed JPEG/MJPEG frame; `byteCount` is the payload size.
    case jpeg
}

/// A reusable block of pixel memory. Allocated once with a capacity and refilled frame after frame, so the
/// frame path does not allocate in steady state.
///
/// Invariant: a buffer is owned by one stage at a time (capture → worker); it is handed over, never shared,
/// which is why it is `@unchecked Sendable`.
public final class PixelBuffer: @unchecked Sendable {
    /// Bytes available in `bytes`.
    public let capacity: Int
    /// Start of the memory (valid for `capacity` bytes for the buffer's lifetime).
    public let bytes: UnsafeMutableRawPointer
    /// Width in pixels (for `.jpeg`, the decoded width once known, else 0).
    public var width: Int = 0
    /// Height in pixels (for `.jpeg`, the decoded height once known, else 0).
    public var height: Int = 0
    /// Layout of the bytes.
    public var format: PixelFormat = .rgb24
    /// Bytes in use.
    public var byteCount: Int = 0

    /// Allocates `capacity` bytes.
    public init(capacity: Int) {
        precondition(capacity > 0, "PixelBuffer capacity must be positive")
        self.capacity = capacity
        self.bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit { bytes.deallocate() }

    /// The bytes in use.
    public var contents: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: bytes, count: byteCount) }
}
