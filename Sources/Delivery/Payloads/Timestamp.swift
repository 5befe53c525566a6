import Foundation

/// The two timestamp spellings of inspectd, both UTC with milliseconds and both hand-formatted (DateFormatter
/// costs microseconds per call on Linux, and this runs several times per frame):
/// - payloads: ISO-8601 `2026-11-24T10:11:34.123Z`;
/// - database: SQLite's `2026-11-24 10:11:34.123`, the format GRDB reads back and `datetime()` compares with.
public enum Timestamp {
    /// UTC ISO-8601 with milliseconds, for payloads.
    public static func string(_ date: Date) -> String { format(date, separator: UInt8(ascii: "T"), zulu: true) }

    /// UTC `YYYY-MM-DD HH:MM:SS.SSS`, for database columns.
    public static func sqlite(_ date: Date) -> String { format(date, separator: UInt8(ascii: " "), zulu: false) }

    private static func format(_ date: Date, separator: UInt8, zulu: Bool) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        let ms = Int32(millis - Int64(seconds) * 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        var out = [UInt8](repeating: 0, count: zulu ? 24 : 23)
        func put(_ value: Int32, _ at: Int, _ width: Int) {
            var v = value
            for i in stride(from: at + width - 1, through: at, by: -1) { out[i] = UInt8(48 + v % 10); v /= 10 }
        }
        put(t.tm_year + 1900, 0, 4); out[4] = 45; put(t.tm_mon + 1, 5, 2); out[7] = 45; put(t.tm_mday, 8, 2)
        out[10] = separator
        put(t.tm_hour, 11, 2); out[13] = 58; put(t.tm_min, 14, 2); out[16] = 58; put(t.tm_sec, 17, 2)
        out[19] = 46; put(ms, 20, 3)
        if zulu { out[23] = UInt8(ascii: "Z") }
        return String(decoding: out, as: UTF8.self)
    }
}
