import Foundation
import Hummingbird

/// The filters and paging of `GET /api/v1/inspections` and `GET /api/v1/defects`, read from the query string.
/// Every value is checked here: a bad one is a 400 naming the parameter, before the database is asked.
public struct RecordQuery: Sendable, Equatable {
    /// Captured at or after (`since`, RFC 3339).
    public var since: Date?
    /// Captured before (`until`, RFC 3339).
    public var until: Date?
    /// Only this camera.
    public var camera: String?
    /// Only `OK`, `NG` or `ERROR` inspections.
    public var verdict: String?
    /// Only inspections with a defect of this class (defects: only defects of this class).
    public var className: String?
    /// `part_id`: only the inspections of this part (triggered cameras).
    public var partID: String?
    /// At most this many rows in the page.
    public var limit: Int
    /// Start after this position (the `next` of the previous page, opaque).
    public var cursor: String?

    /// Plain memberwise initializer.
    public init(since: Date? = nil, until: Date? = nil, camera: String? = nil, verdict: String? = nil,
                className: String? = nil, limit: Int, cursor: String? = nil) {
        self.since = since; self.until = until; self.camera = camera; self.verdict = verdict
        self.className = className; self.limit = limit; self.cursor = cursor
    }

    /// The verdicts the audit database records.
    static let verdicts = ["OK", "NG", "ERROR"]

    /// Reads the query string; `extra` names further parameters the route takes itself (`format`). `limit` must
    /// lie in `limits` and defaults to `defaultLimit`. Unknown parameters are refused, so a misspelt filter is not
    /// silently ignored.
    init(_ parameters: [(key: String, value: String)], limits: ClosedRange<Int>, defaultLimit: Int,
         extra: Set<String> = []) throws {
        let known: Set<String> = ["since", "until", "camera", "verdict", "class", "part_id", "limit", "cursor"]
        for (key, _) in parameters where !known.contains(key) && !extra.contains(key) {
            throw Self.bad(key, "unknown parameter; this path takes " + known.union(extra).sorted().joined(separator: ", "))
        }
        func text(_ name: String) throws -> String? {
            guard let value = parameters.first(where: { $0.key == name })?.value else { return nil }
            guard !value.isEmpty else { throw Self.bad(name, "is empty") }
            return String(value)
        }
        since = try text("since").map { try Self.time($0, parameter: "since") }
        until = try text("until").map { try Self.time($0, parameter: "until") }
        if let since, let until, since > until {
            throw Self.bad("since", "is after until (\(Self.format(since)) > \(Self.format(until)))")
        }
        camera = try text("camera")
        className = try text("class")
        partID = try text("part_id")
        verdict = try text("verdict").map { value in
            guard Self.verdicts.contains(value.uppercased()) else {
                throw Self.bad("verdict", "'\(value)' is not a verdict; one of OK, NG, ERROR")
            }
            return value.uppercased()
        }
        if let value = try text("limit") {
            guard let n = Int(value), limits.contains(n) else {
                throw Self.bad("limit", "'\(value)': an integer from \(limits.lowerBound) to \(limits.upperBound)")
            }
            limit = n
        } else {
            limit = defaultLimit
        }
        cursor = try text("cursor")
    }

    /// A 400 answer naming `parameter`.
    static func bad(_ parameter: String, _ problem: String) -> APIError {
        APIError(.badRequest, "bad_request", "\(parameter): \(problem)")
    }

    /// RFC 3339 (`2026-12-04T10:00:00Z`, fractions and offsets allowed).
    static func time(_ text: String, parameter: String) throws -> Date {
        let plain = ISO8601DateFormatter(), fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = fractional.date(from: text) ?? plain.date(from: text) else {
            throw bad(parameter, "'\(text)' is not an RFC 3339 time like 2026-12-04T10:00:00Z or 2026-12-04T10:00:00.250+01:00")
        }
        return date
    }

    private static func format(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
