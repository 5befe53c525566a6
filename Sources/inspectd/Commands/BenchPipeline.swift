import ArgumentParser
import Daemon
import Foundation
import Logging
import Synchronization

/// `inspectd bench pipeline`: the real pipeline on the config's cameras (replay sources loop), printing frames/s
/// and the latency from capture to committed in the audit database.
struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "End-to-end pipeline throughput and latency (capture → committed in the audit database).",
        discussion: "Replay cameras are looped so any frame count can be reached; use fps to load below capacity.")

    @Option(name: .long, help: "The YAML config file (a replay camera, e.g. Configs/bench-pipeline.yaml).")
    var config: String

    @Option(name: .long, help: "Frames to measure (after the warm-up).")
    var frames: Int = 500

    @Option(name: .long, help: "Frames run before measuring (engine and caches warm up).")
    var warmup: Int = 20

    func run() throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label); h.logLevel = .warning; return h
        }
        guard frames > 0, warmup >= 0 else { failWithInputError(["--frames must be > 0 and --warmup ≥ 0"]) }
        var cfg: InspectdConfig
        do { cfg = try InspectdConfig.load(path: config) } catch let e as ConfigError { failWithInputError(e.lines) }
        for i in cfg.cameras.indices {
            if case .replay(var r) = cfg.cameras[i].source { r.loop = true; cfg.cameras[i].source = .replay(r) }
        }
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: cfg.metrics.cameraDownLimit, stallLimit: cfg.metrics.stallLimit)
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(config: cfg, metrics: metrics, health: health, logger: Logger(label: "bench"))
        } catch let e as ConfigError { failWithInputError(e.lines) }

        // Capture times of recorded frames not yet known to be committed; a flusher thread stamps them.
        let pending = Mutex<[UInt64]>([])
        let latencies = Mutex<[Double]>([])
        let seen = Atomic<Int>(0)
        let total = warmup + frames
        let firstMeasured = Mutex<UInt64?>(nil)
        pipeline.onRecorded { capture in
            let n = seen.add(1, ordering: .relaxed).newValue
            if n > warmup { pending.withLock { $0.append(capture) } }
            if n == warmup + 1 { firstMeasured.withLock { $0 = capture } }
        }
        let rssBefore = Self.residentMB()
        let started = Date()
        pipeline.start()
        var lastCommit: UInt64 = 0
        while latencies.withLock({ $0.count }) < frames {
            let batch = pending.withLock { p -> [UInt64] in let b = p; p.removeAll(keepingCapacity: true); return b }
            pipeline.flushAudit()
            let now = Self.monotonic()
            if !batch.isEmpty { lastCommit = now }
            latencies.withLock { l in l += batch.map { Double(now &- $0) / 1e6 } }
            if batch.isEmpty { Thread.sleep(forTimeInterval: 0.002) }
            if Date().timeIntervalSince(started) > 600 { print("bench: stopped after 10 minutes"); break }
        }
        pipeline.stop(timeout: .seconds(10))
        let l = latencies.withLock { $0 }.prefix(frames).sorted()
        guard !l.isEmpty, let first = firstMeasured.withLock({ $0 }) else { print("bench: no frame measured"); return }
        let seconds = Double(lastCommit &- first) / 1e9
        func pct(_ p: Double) -> Double { l[min(l.count - 1, Int(Double(l.count) * p))] }
        print("bench pipeline: \(cfg.cameras.count) camera(s), \(cfg.workers.count) worker(s) × "
              + "\(cfg.workers.threadsPerWorker) thread(s), model \((cfg.model.path as NSString).lastPathComponent)")
        print(String(format: "  frames %d (after %d warm-up)  throughput %.1f frames/s", l.count, warmup,
                     Double(l.count) / max(seconds, 1e-9)))
        print(String(format: "  latency capture→committed  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms",
                     pct(0.5), pct(0.9), pct(0.99), l.last ?? 0))
        print(String(format: "  resident memory  %.1f MB at start, %.1f MB at end", rssBefore, Self.residentMB()))
        _ = total
    }

    static func monotonic() -> UInt64 {
        var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func residentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}
