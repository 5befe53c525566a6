import ArgumentParser
import Delivery
import Foundation

/// `inspectd bench audit`: how many NG inspections per second (one defect and one outbox message each) the audit
/// writer commits, measured from the first submit to the end of `flush()` on a fresh database.
struct BenchAudit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit writer throughput.")
    @Option(help: "Inspections to write.") var count = 200_000
    @Option(help: "Defects per inspection.") var defects = 1
    @Option(help: "Database file (default: a fresh file in a temporary directory, deleted afterwards).") var db: String?

    func run() throws {
        guard count > 0, defects >= 0 else { failWithInputError(["--count must be positive and --defects not negative"]) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-bench-audit-\(getpid())")
        let path = db ?? dir.appendingPathComponent("audit.sqlite").path
        defer { if db == nil { try? FileManager.default.removeItem(at: dir) } }
        let store = exitingOnInputError { try AuditStore(path: path) }
        let writer = AuditWriter(store: store)
        writer.start()
        let factory = MessageFactory(line: "bench", station: "s1")
        let sha = String(repeating: "ab", count: 32)
        let start = Date()
        for i in 0..<count {
            let record = InspectionRecord(
                camera: "cam\(i % 4)", sequence: UInt64(i), captureTime: Date(), latencyMillis: 12.5,
                modelName: "bench", modelSHA256: sha, configRevision: "r1",
                defects: (0..<defects).map { d in
                    DefectRecord(classID: d % 6, className: "class\(d % 6)", confidence: 0.8, threshold: 0.5,
                                 x1: 10, y1: 20, x2: 110, y2: 220)
                })
            writer.submit(record, messages: record.isNG ? [factory.defects(for: record)] : [])
        }
        let submitted = Date().timeIntervalSince(start)
        writer.stop()
        let elapsed = Date().timeIntervalSince(start)
        print("audit writer: \(count) inspections (\(defects) defect(s) + \(defects > 0 ? 1 : 0) outbox message each) in "
              + String(format: "%.2f s: %.0f inspections/s (submit side %.0f/s, payload JSON included)",
                       elapsed, Double(count) / elapsed, Double(count) / submitted))
        let file = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("database \(path): \(file / 1024) KiB")
    }
}
