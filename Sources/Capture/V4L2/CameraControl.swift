import CV4L2
import Foundation

/// A camera control set from the config (`controls: {exposure_time_absolute: 200, ...}`), applied with
/// VIDIOC_S_CTRL after every (re)open, because inspection needs fixed exposure, gain, white balance and focus.
public struct CameraControl: Sendable, Equatable {
    /// The control's name as in the config (v4l2-ctl's names).
    public var name: String
    /// Its V4L2 control id.
    public var id: UInt32
    /// The value to set.
    public var value: Int32

    /// Control names inspectd knows, old and current kernel spellings, → V4L2 ids.
    public static let ids: [String: UInt32] = [
        "brightness": CV4L2_CID_BRIGHTNESS, "contrast": CV4L2_CID_CONTRAST,
        "saturation": CV4L2_CID_SATURATION, "sharpness": CV4L2_CID_SHARPNESS, "gain": CV4L2_CID_GAIN,
        "power_line_frequency": CV4L2_CID_POWER_LINE_FREQUENCY,
        "white_balance_automatic": CV4L2_CID_AUTO_WHITE_BALANCE,
        "white_balance_temperature_auto": CV4L2_CID_AUTO_WHITE_BALANCE,
        "white_balance_temperature": CV4L2_CID_WHITE_BALANCE_TEMPERATURE,
        "auto_exposure": CV4L2_CID_EXPOSURE_AUTO, "exposure_auto": CV4L2_CID_EXPOSURE_AUTO,
        "exposure_time_absolute": CV4L2_CID_EXPOSURE_ABSOLUTE, "exposure_absolute": CV4L2_CID_EXPOSURE_ABSOLUTE,
        "exposure_dynamic_framerate": CV4L2_CID_EXPOSURE_AUTO_PRIORITY,
        "exposure_auto_priority": CV4L2_CID_EXPOSURE_AUTO_PRIORITY,
        "focus_automatic_continuous": CV4L2_CID_FOCUS_AUTO, "focus_auto": CV4L2_CID_FOCUS_AUTO,
        "focus_absolute": CV4L2_CID_FOCUS_ABSOLUTE,
    ]

    /// Looks a control up by name; throws `CaptureConfigurationError.unknownControl` listing the known names.
    public init(name: String, value: Int) throws {
        guard let id = Self.ids[name.lowercased()] else {
            throw CaptureConfigurationError.unknownControl(name, known: Self.ids.keys.sorted())
        }
        guard let v = Int32(exactly: value) else { throw CaptureConfigurationError.invalid("control \(name): value \(value) out of range") }
        self.name = name; self.id = id; self.value = v
    }
}

/// A camera or source configuration no retry can fix (the daemon reports it at config check).
public enum CaptureConfigurationError: Error, Equatable, CustomStringConvertible {
    /// `controls:` names a control inspectd does not know.
    case unknownControl(String, known: [String])
    /// `formats:` names a pixel format inspectd does not support.
    case unknownFormat(String)
    /// Any other invalid value, described.
    case invalid(String)

    /// One line naming the problem.
    public var description: String {
        switch self {
        case .unknownControl(let n, let known): return "unknown camera control '\(n)' (known: \(known.joined(separator: ", ")))"
        case .unknownFormat(let f): return "unknown pixel format '\(f)' (known: MJPEG, YUYV, GREY, NV12)"
        case .invalid(let m): return m
        }
    }
}
