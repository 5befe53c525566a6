import Foundation

/// UTC ISO-8601 with milliseconds (`2026-11-24T10:11:34.123Z`), the one timestamp format of every payload.
public enum Timestamp {
    /// Formats `date` as UTC ISO-8601 with milliseconds.
    public static func string(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis / 1000 - (millis % 1000 < 0 ? 1 : 0))
        let ms = Int((millis % 1000 + 1000) % 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T"
            + "\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
    }
}
