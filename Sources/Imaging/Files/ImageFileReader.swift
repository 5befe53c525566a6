import CPNG
import Foundation

/// Reads JPEG and PNG files into pixel buffers, for `detect`, `eval` and replay. JPEGs stay compressed
/// (`.jpeg`, decoded later by the worker's `FramePreprocessor`, DCT-scaled if large); PNGs are decoded to
/// `.rgb24` or `.gray8` here.
///
/// Reuses its file scratch and the caller's buffer when they are large enough, so replaying a folder of
/// same-size images does not allocate per frame. One per thread.
public final class ImageFileReader {
    private var scratch: UnsafeMutableRawPointer
    private var scratchCapacity: Int

    /// Creates a reader.
    public init() {
        scratchCapacity = 1 << 20
        scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchCapacity, alignment: 64)
    }

    deinit { scratch.deallocate() }

    /// Loads the image at `path` into `buffer` if it fits, else into a new buffer, and returns the buffer
    /// used. Throws `ImagingError.unreadableFile` (with the path) when the file cannot be read or is neither
    /// JPEG nor PNG, and `ImagingError.corruptPNG` / `.zeroSize` for bad PNG content.
    public func read(path: String, reusing buffer: PixelBuffer? = nil) throws -> PixelBuffer {
        let count = try readFile(path)
        let bytes = UnsafeRawBufferPointer(start: scratch, count: count)
        if count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8 {
            let out = buffer.flatMap { $0.capacity >= count ? $0 : nil } ?? PixelBuffer(capacity: count)
            out.bytes.copyMemory(from: scratch, byteCount: count)
            out.byteCount = count; out.format = .jpeg; out.width = 0; out.height = 0
            return out
        }
        if count >= 8, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {
            do { return try Self.decodePNG(bytes, reusing: buffer) } catch let e as ImagingError {
                throw ImagingError.unreadableFile(path: path, reason: e.description)
            }
        }
        throw ImagingError.unreadableFile(path: path, reason: count == 0 ? "empty file" : "neither JPEG nor PNG")
    }

    /// Decodes PNG bytes to `.rgb24` (colour) or `.gray8` (grayscale); alpha is composited away by libpng.
    public static func decodePNG(_ bytes: UnsafeRawBufferPointer, reusing buffer: PixelBuffer? = nil) throws -> PixelBuffer {
        var image = png_image()
        guard let base = bytes.baseAddress, cpng_begin_read(&image, base, bytes.count) != 0 else {
            let msg = message(&image); png_image_free(&image)
            throw ImagingError.corruptPNG(msg)
        }
        let gray = image.format & CPNG_FORMAT_FLAG_COLOR == 0
        image.format = gray ? CPNG_FORMAT_GRAY : CPNG_FORMAT_RGB
        let w = Int(image.width), h = Int(image.height), cn = gray ? 1 : 3
        guard w > 0, h > 0 else { png_image_free(&image); throw ImagingError.zeroSize(width: w, height: h) }
        let need = w * h * cn
        let out = buffer.flatMap { $0.capacity >= need ? $0 : nil } ?? PixelBuffer(capacity: need)
        var background = png_color(red: 255, green: 255, blue: 255)
        guard png_image_finish_read(&image, &background, out.bytes, Int32(w * cn), nil) != 0 else {
            let msg = message(&image); png_image_free(&image)
            throw ImagingError.corruptPNG(msg)
        }
        out.width = w; out.height = h; out.format = gray ? .gray8 : .rgb24; out.byteCount = need
        return out
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.prefix { $0 != 0 }
            return chars.isEmpty ? "not a PNG" : String(decoding: chars, as: UTF8.self)
        }
    }

    private func readFile(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImagingError.unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ImagingError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ImagingError.unreadableFile(path: path, reason: "not a file") }
        let size = Int(st.st_size)
        if size > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = size
            scratch = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        }
        var done = 0
        while done < size {
            let n = Foundation.read(fd, scratch + done, size - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ImagingError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }
}
