/// A borrowed 8-bit grayscale picture: `height` rows of `width` bytes, each row `stride` bytes after the
/// previous one. It does not own the memory; the caller keeps it alive and unchanged while it is in use.
public struct GrayPlane {
    /// First byte of the first row.
    public let base: UnsafePointer<UInt8>
    /// Size in pixels.
    public let width: Int, height: Int
    /// Bytes from one row to the next (at least `width`).
    public let stride: Int

    /// Wraps memory the caller owns. Throws `ReferenceError.invalidPlane` for a zero size or a stride
    /// shorter than a row.
    public init(base: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int) throws {
        guard width > 0, height > 0 else { throw ReferenceError.invalidPlane("zero-size plane \(width)×\(height)") }
        guard stride >= width else { throw ReferenceError.invalidPlane("stride \(stride) is shorter than a row of \(width)") }
        self.base = base; self.width = width; self.height = height; self.stride = stride
    }

    /// A `.gray8` pixel buffer's plane (rows packed). Throws `ReferenceError.invalidPlane` for any other
    /// layout or a short buffer.
    public init(_ buffer: PixelBuffer) throws {
        guard buffer.format == .gray8 else {
            throw ReferenceError.invalidPlane("\(buffer.format.rawValue) is not a grayscale plane; convert it first")
        }
        guard buffer.byteCount >= buffer.width * buffer.height else {
            throw ReferenceError.invalidPlane("short gray8 buffer: \(buffer.byteCount) bytes for \(buffer.width)×\(buffer.height)")
        }
        try self.init(base: UnsafePointer(buffer.bytes.assumingMemoryBound(to: UInt8.self)), width: buffer.width,
                      height: buffer.height, stride: buffer.width)
    }
}
