import ArgumentParser
import Delivery
import Foundation

/// `inspectd audit --db FILE summary|defects|verify`: read-only questions to the audit database. Safe while the
/// daemon writes (WAL readers never block the writer).
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Queries the audit database (read-only).",
        subcommands: [AuditSummary.self, AuditDefects.self, AuditVerify.self])
    @OptionGroup var database: AuditDatabaseOption
}

/// The database option every audit subcommand takes (`inspectd audit --db FILE summary` or `... summary --db FILE`).
struct AuditDatabaseOption: ParsableArguments {
    @Option(name: .long, help: "Audit database file (the daemon's delivery.database).")
    var db: String

    func open() throws -> AuditQueries {
        do { return AuditQueries(reader: try AuditStore.openReadOnly(path: db)) } catch let e as AuditStoreError {
            throw InputError(e.description)
        } catch {
            throw InputError("audit database \(db): \(error)")
        }
    }
}

/// Parses `24h`, `30m`, `7d`, `90s` (ago from now) or an absolute UTC time (`2026-11-24T10:00:00Z`,
/// `2026-11-24 10:00`, `2026-11-24`).
func parseAuditTime(_ text: String, option: String, now: Date = Date()) throws -> Date {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
    if let unit = text.last, let scale = units[unit], let value = Double(text.dropLast()), value >= 0 {
        return now.addingTimeInterval(-value * scale)
    }
    for format in ["yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX", "yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss",
                   "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        if let date = f.date(from: text) { return date }
    }
    throw InputError("\(option) \(text): expected a duration like 24h, 30m, 7d or a UTC time like 2026-11-24T10:00:00Z")
}

struct AuditSummary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary", abstract: "Frames, NG rate, defects per class and delivery backlog.")
    @OptionGroup var database: AuditDatabaseOption
    @Option(help: "Period: a duration back from now (24h, 7d) or a UTC time.") var since = "24h"
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        exitingOnInputError {
            let since = try parseAuditTime(self.since, option: "--since")
            let s = try database.open().summary(since: since)
            if json { printJSON(s); return }
            print("since \(Timestamp.string(s.since))")
            print("frames \(s.frames), NG \(s.ngFrames) (\(String(format: "%.2f", s.ngRate * 100)) %)"
                  + (s.errorFrames > 0 ? ", not judged (ERROR) \(s.errorFrames)" : ""))
            for c in s.cameras { print("  camera \(c.camera): \(c.frames) frames, \(c.ngFrames) NG") }
            print("defects per class:")
            if s.defectsPerClass.isEmpty { print("  none") }
            for c in s.defectsPerClass { print("  \(c.className): \(c.count)") }
            let oldest = s.oldestPending.map { ", oldest \(Timestamp.string($0))" } ?? ""
            print("delivery: \(s.deliveredMessages) delivered in period, backlog \(s.pendingMessages) pending\(oldest)")
        }
    }
}

struct AuditDefects: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "defects", abstract: "Lists defects.")
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }
    @OptionGroup var database: AuditDatabaseOption
    @Option(help: "From (duration back from now or UTC time).") var since = "24h"
    @Option(help: "Until (duration back from now or UTC time; default now).") var until: String?
    @Option(help: "Only this camera.") var camera: String?
    @Option(name: .customLong("class"), help: "Only this defect class.") var className: String?
    @Option(name: .customLong("part-id"), help: "Only the inspection(s) of this part (triggered cameras).") var partID: String?
    @Option(help: "table, csv or json.") var format: Format = .table
    @Option(help: "At most this many rows.") var limit = 100_000

    func run() throws {
        exitingOnInputError {
            let from = try parseAuditTime(since, option: "--since")
            let to = try until.map { try parseAuditTime($0, option: "--until") } ?? Date()
            guard from <= to else { throw InputError("--since is after --until") }
            guard limit > 0 else { throw InputError("--limit \(limit): must be positive") }
            let rows = try database.open().defects(since: from, until: to, camera: camera, className: className, partID: partID,
                                                   limit: limit)
            switch format {
            case .json: printJSON(rows)
            case .csv:
                print(AuditQueries.DefectRow.csvHeader)
                for r in rows { print(r.csvLine) }
            case .table:
                print(pad("captured_at", 25) + pad("camera", 12) + pad("sequence", 10) + pad("class", 16)
                      + pad("conf", 8) + pad("thr", 8) + "box")
                for r in rows {
                    print(pad(Timestamp.string(r.capturedAt), 25) + pad(r.camera, 12) + pad(String(r.sequence), 10)
                          + pad(r.className, 16) + pad(fmt(r.confidence, 3), 8) + pad(fmt(r.threshold, 3), 8)
                          + r.box.map { fmt($0, 0) }.joined(separator: ","))
                }
                print("\(rows.count) defects")
            }
        }
    }

    private func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
    private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
}

struct AuditVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "integrity_check and outbox state (exit 1 when the database is damaged).")
    @OptionGroup var database: AuditDatabaseOption
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let v = exitingOnInputError { try database.open().verify() }
        if json { printJSON(v) } else {
            print("integrity: \(v.integrity.joined(separator: "; "))")
            print("schema migrations: \(v.migrations.joined(separator: ", "))")
            print("inspections: \(v.inspections)")
            let oldest = v.oldestPending.map { ", oldest \(Timestamp.string($0))" } ?? ""
            print("outbox: \(v.delivered) delivered, \(v.pending) pending\(oldest), max attempts on a pending message \(v.maxPendingAttempts)")
        }
        if !v.ok { throw ExitCode(1) }
    }
}

private func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .custom { date, enc in
        var c = enc.singleValueContainer(); try c.encode(Timestamp.string(date))
    }
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
