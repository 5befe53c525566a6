import Foundation

/// Why an image could not be used. Every case names the problem so it can be logged and counted as a
/// decode error; none of them is fatal to the daemon.
public enum ImagingError: Error, Equatable, CustomStringConvertible {
    /// The JPEG data is not a decodable JPEG (libjpeg-turbo's message attached).
    case corruptJPEG(String)
    /// The JPEG decodes only with libjpeg-turbo's warning (truncated or damaged data, message attached): part
    /// of the picture is missing, so it must not be inspected.
    case damagedJPEG(String)
    /// The PNG data is not a decodable PNG (libpng's message attached).
    case corruptPNG(String)
    /// Width or height is zero (or negative).
    case zeroSize(width: Int, height: Int)
    /// The image is larger than the buffer meant to hold it.
    case tooLarge(width: Int, height: Int, capacity: Int)
    /// The pixel layout cannot be used for this operation.
    case unsupportedFormat(String)
    /// The bytes in use do not cover the image (short frame).
    case shortData(expected: Int, got: Int)
    /// The file could not be read or is neither JPEG nor PNG.
    case unreadableFile(path: String, reason: String)
    /// libjpeg-turbo could not be initialised or failed to encode.
    case codecFailure(String)

    /// One line for logs and CLI errors.
    public var description: String {
        switch self {
        case .corruptJPEG(let m): return "corrupt JPEG: \(m)"
        case .damagedJPEG(let m): return "truncated or damaged JPEG: \(m)"
        case .corruptPNG(let m): return "corrupt PNG: \(m)"
        case .zeroSize(let w, let h): return "zero-size image (\(w)×\(h))"
        case .tooLarge(let w, let h, let c): return "image \(w)×\(h) does not fit a \(c)-byte buffer"
        case .unsupportedFormat(let m): return "unsupported pixel format: \(m)"
        case .shortData(let e, let g): return "short image data: expected \(e) bytes, got \(g)"
        case .unreadableFile(let p, let r): return "\(p): \(r)"
        case .codecFailure(let m): return "JPEG codec failure: \(m)"
        }
    }
}

extension PixelFormat {
    /// Bytes a frame of this layout needs (nil for JPEG, whose size depends on content).
    public func byteCount(width: Int, height: Int) -> Int? {
        switch self {
        case .rgb24: return width * height * 3
        case .gray8: return width * height
        case .yuyv: return width * height * 2
        case .nv12: return width * height + 2 * ((width + 1) / 2) * ((height + 1) / 2)
        case .jpeg: return nil
        }
    }
}
