import ArgumentParser
import Delivery
import Foundation

/// `inspectd bench audit`: how many NG inspections per second (one defect and one outbox message each) the audit
/// writer commits, measured from the first submit to the end of `flush()` on a fresh database. With `--rate`, the
/// inspections come at that pace instead (a line at full frame rate) and the figure is the time spent committing.
struct BenchAudit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit writer throughput.")
    @Option(help: "Inspections to write.") var count = 200_000
    @Option(help: "Defects per inspection.") var defects = 1
    @Flag(inversion: .prefixedNo, help: "Put a defects message in the outbox for every NG inspection.") var messages = true
    @Option(help: "Database file (default: a fresh file in a temporary directory, deleted afterwards).") var db: String?
    @Option(help: "SQLite synchronous: full or normal.") var synchronous = "full"
    @Option(help: "Inspections per second (0: as fast as possible).") var rate = 0.0
    @Option(help: "Writer batch interval in seconds (the daemon's audit.batch_interval).") var batchInterval = 0.1

    func run() throws {
        guard count > 0, defects >= 0 else { failWithInputError(["--count must be positive and --defects not negative"]) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-bench-audit-\(getpid())")
        let path = db ?? dir.appendingPathComponent("audit.sqlite").path
        defer { if db == nil { try? FileManager.default.removeItem(at: dir) } }
        guard let sync = AuditStore.Synchronous(rawValue: synchronous.uppercased()), rate >= 0, batchInterval > 0 else {
            failWithInputError(["--synchronous must be full or normal, --rate not negative, --batch-interval positive"])
        }
        let store = exitingOnInputError { try AuditStore(path: path, synchronous: sync) }
        let writer = AuditWriter(store: store, settings: .init(maxDelay: batchInterval))
        writer.start()
        let factory = MessageFactory(line: "bench", station: "s1")
        let sha = String(repeating: "ab", count: 32)
        let probe = InspectionRecord(camera: "cam0", sequence: 0, captureTime: Date(), latencyMillis: 12.5,
                                     modelName: "bench", modelSHA256: sha, configRevision: "r1",
                                     defects: [DefectRecord(classID: 0, className: "class0", confidence: 0.8,
                                                            threshold: 0.5, x1: 10, y1: 20, x2: 110, y2: 220)])
        let encodeStart = Date()
        for _ in 0..<10_000 { _ = factory.defects(for: probe) }
        let encodeMicros = Date().timeIntervalSince(encodeStart) * 100
        let start = Date()
        for i in 0..<count {
            if rate > 0 {
                let due = start.addingTimeInterval(Double(i) / rate).timeIntervalSinceNow
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
            let record = InspectionRecord(
                camera: "cam\(i % 4)", sequence: UInt64(i), captureTime: Date(), latencyMillis: 12.5,
                modelName: "bench", modelSHA256: sha, configRevision: "r1",
                defects: (0..<defects).map { d in
                    DefectRecord(classID: d % 6, className: "class\(d % 6)", confidence: 0.8, threshold: 0.5,
                                 x1: 10, y1: 20, x2: 110, y2: 220)
                })
            writer.submit(record, messages: record.isNG && messages ? [factory.defects(for: record)] : [])
        }
        let submitted = Date().timeIntervalSince(start)
        writer.flush()
        let (commits, commitSeconds) = writer.commitStats
        writer.stop()
        let elapsed = Date().timeIntervalSince(start)
        print("synchronous=\(sync.rawValue), batch interval \(batchInterval) s" + (rate > 0 ? ", paced at \(rate)/s" : ", unpaced"))
        print(String(format: "commits: %d, %.2f ms each on average, writer busy %.1f%% of the run",
                     commits, commits > 0 ? commitSeconds * 1000 / Double(commits) : 0, commitSeconds * 100 / elapsed))
        print("audit writer: \(count) inspections (\(defects) defect(s) + \(defects > 0 && messages ? 1 : 0) outbox message each) in "
              + String(format: "%.2f s: %.0f inspections/s (submit side %.0f/s, payload JSON included)",
                       elapsed, Double(count) / elapsed, Double(count) / submitted))
        print(String(format: "defects payload (JSON + event id): %.1f µs each on the submitting thread", encodeMicros))
        let file = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("database \(path): \(file / 1024) KiB")
    }
}
