import CV4L2
import Foundation
import Imaging

/// The camera pixel formats inspectd negotiates, in the config's words.
public enum V4L2PixelFormat: String, Sendable, CaseIterable, Codable {
    /// Motion JPEG (preferred: least USB bandwidth).
    case mjpeg = "MJPEG"
    /// Packed 4:2:2.
    case yuyv = "YUYV"
    /// 8-bit grey (Y8).
    case grey = "GREY"
    /// 4:2:0 semi-planar.
    case nv12 = "NV12"

    /// Parses a config value (case-insensitive; `JPEG` = MJPEG, `Y8`/`GRAY` = GREY).
    public init?(configName: String) {
        switch configName.uppercased() {
        case "MJPEG", "MJPG", "JPEG": self = .mjpeg
        case "YUYV", "YUY2": self = .yuyv
        case "GREY", "GRAY", "Y8": self = .grey
        case "NV12": self = .nv12
        default: return nil
        }
    }

    /// The V4L2 fourcc.
    public var fourcc: UInt32 {
        switch self {
        case .mjpeg: return CV4L2_PIX_FMT_MJPEG
        case .yuyv: return CV4L2_PIX_FMT_YUYV
        case .grey: return CV4L2_PIX_FMT_GREY
        case .nv12: return CV4L2_PIX_FMT_NV12
        }
    }

    /// The format for a fourcc (plain JPEG counts as MJPEG).
    public init?(fourcc: UInt32) {
        if fourcc == CV4L2_PIX_FMT_JPEG { self = .mjpeg; return }
        guard let f = Self.allCases.first(where: { $0.fourcc == fourcc }) else { return nil }
        self = f
    }

    /// How frames of this format are held in a `PixelBuffer`.
    public var pixelFormat: PixelFormat {
        switch self {
        case .mjpeg: return .jpeg
        case .yuyv: return .yuyv
        case .grey: return .gray8
        case .nv12: return .nv12
        }
    }

    /// "MJPG"-style text for a fourcc, for logs.
    public static func fourccText(_ v: UInt32) -> String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }, as: UTF8.self)
    }
}
