import CV4L2
import Foundation

/// One control of a V4L2 camera as the driver reports it (VIDIOC_QUERYCTRL, value by VIDIOC_G_CTRL): what a
/// commissioning engineer checks when focus, exposure or white balance look wrong. Read-only: inspectd sets
/// controls only from the config (`controls:`).
public struct ControlReading: Sendable, Equatable {
    /// The driver's name for it (e.g. "Exposure Time, Absolute").
    public var name: String
    /// Its V4L2 control id.
    public var id: UInt32
    /// `integer`, `boolean`, `menu`, `integer_menu`, `integer64` or `bitmask`.
    public var type: String
    /// The value now; nil when the driver does not give it (write-only, or a 64-bit control G_CTRL cannot read).
    public var value: Int?
    /// Range, step and the driver's default.
    public var minimum: Int, maximum: Int, step: Int, defaultValue: Int
    /// The driver marks it inactive (e.g. the manual exposure while auto exposure is on).
    public var inactive: Bool

    /// Plain memberwise initializer.
    public init(name: String, id: UInt32, type: String, value: Int?, minimum: Int, maximum: Int, step: Int,
                defaultValue: Int, inactive: Bool) {
        self.name = name; self.id = id; self.type = type; self.value = value; self.minimum = minimum
        self.maximum = maximum; self.step = step; self.defaultValue = defaultValue; self.inactive = inactive
    }

    /// Type names of the control types reported; the others (buttons, class headers, strings, compound
    /// controls) have no single integer value to show.
    static let typeNames: [UInt32: String] = [
        CV4L2_CTRL_TYPE_INTEGER: "integer", CV4L2_CTRL_TYPE_BOOLEAN: "boolean", CV4L2_CTRL_TYPE_MENU: "menu",
        CV4L2_CTRL_TYPE_INTEGER_MENU: "integer_menu", CV4L2_CTRL_TYPE_INTEGER64: "integer64",
        CV4L2_CTRL_TYPE_BITMASK: "bitmask",
    ]

    /// Every control of the open camera `fd`, in id order: enumerated with V4L2_CTRL_FLAG_NEXT_CTRL, or, from a
    /// driver that does not enumerate, the controls inspectd knows by name (`CameraControl.ids`) that it has.
    static func readAll(_ device: V4L2Device, fd: Int32) -> [ControlReading] {
        var found: [v4l2_queryctrl] = []
        var q = v4l2_queryctrl()
        q.id = CV4L2_CTRL_FLAG_NEXT_CTRL
        if (try? device.queryControl(fd, &q)) != nil {
            repeat {
                found.append(q)
                let last = q.id
                q = v4l2_queryctrl(); q.id = last | CV4L2_CTRL_FLAG_NEXT_CTRL
            } while found.count < 512 && (try? device.queryControl(fd, &q)) != nil
        } else {
            for id in Set(CameraControl.ids.values).sorted() {
                var one = v4l2_queryctrl(); one.id = id
                if (try? device.queryControl(fd, &one)) != nil { found.append(one) }
            }
        }
        return found.compactMap { q in
            guard q.flags & CV4L2_CTRL_FLAG_DISABLED == 0, let type = typeNames[q.type] else { return nil }
            var value: Int?
            if q.flags & CV4L2_CTRL_FLAG_WRITE_ONLY == 0 {
                var c = v4l2_control(id: q.id, value: 0)
                if (try? device.getControl(fd, &c)) != nil { value = Int(c.value) }
            }
            let name = withUnsafeBytes(of: q.name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            return ControlReading(name: name, id: q.id, type: type, value: value, minimum: Int(q.minimum),
                                  maximum: Int(q.maximum), step: Int(q.step), defaultValue: Int(q.default_value),
                                  inactive: q.flags & CV4L2_CTRL_FLAG_INACTIVE != 0)
        }
    }
}
