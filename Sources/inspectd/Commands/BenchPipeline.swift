import API
import ArgumentParser
import Daemon
import Foundation
import Logging
import Synchronization

/// `inspectd bench pipeline`: the real pipeline on the config's cameras (replay sources loop), printing frames/s,
/// the latency from capture to committed in the audit database, and resident memory at start, at intervals and
/// at the end with its growth per 1000 frames after warm-up (the check that memory stays flat is this command's
/// figures, e.g. `--duration 600`).
struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "End-to-end pipeline throughput and latency (capture → committed in the audit database).",
        discussion: """
            Replay cameras are looped so any frame count can be reached; use fps to load below capacity. \
            Resident memory is printed every --memory-every seconds; 'growth per 1000 frames' is the least-squares \
            slope of RSS over the frames recorded after warm-up (and over the second half of the run, once early \
            caches have filled).
            """)

    @Option(name: .long, help: "The YAML config file (a replay camera, e.g. Configs/bench-pipeline.yaml).")
    var config: String

    @Option(name: .long, help: "Frames to measure (after the warm-up).")
    var frames: Int = 500

    @Option(name: .long, help: "Measure for this many seconds instead of a frame count (e.g. 600 for the memory check).")
    var duration: Double?

    @Option(name: .long, help: "Frames run before measuring (engine and caches warm up).")
    var warmup: Int = 20

    @Option(name: .long, help: "Pace replay cameras to this many frames/s (e.g. 80% of capacity); default: the config's.")
    var fps: Double?

    @Option(name: .long, help: "Inference workers; default: the config's.")
    var workers: Int?

    @Option(name: .long, help: "Print resident memory every this many seconds.")
    var memoryEvery: Double = 30

    @Option(name: .long, help: ArgumentHelp("Also serve the HTTP API and station page on this loopback HOST:PORT during the run (tokens off), so a browser can load the station while it is measured (Scripts/bench-page).", valueName: "host:port"))
    var listen: String?

    func run() throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label); h.logLevel = .warning; return h
        }
        guard frames > 0, warmup >= 0 else { failWithInputError(["--frames must be > 0 and --warmup ≥ 0"]) }
        if let fps, !(fps > 0 && fps <= 1000) { failWithInputError(["--fps must be within 0…1000"]) }
        if let workers, !(1...256).contains(workers) { failWithInputError(["--workers must be within 1…256"]) }
        if let duration, !(duration > 0 && duration <= 86_400) { failWithInputError(["--duration must be within 0…86400 s"]) }
        guard memoryEvery >= 0.1 else { failWithInputError(["--memory-every must be at least 0.1 s"]) }
        var cfg: InspectdConfig
        do { cfg = try InspectdConfig.load(path: config) } catch let e as ConfigError { failWithInputError(e.lines) }
        for i in cfg.cameras.indices {
            if case .replay(var r) = cfg.cameras[i].source {
                r.loop = true
                if let fps { r.fps = fps }
                cfg.cameras[i].source = .replay(r)
            }
        }
        if let workers { cfg.workers.count = workers }
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: cfg.metrics.cameraDownLimit, stallLimit: cfg.metrics.stallLimit)
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(config: cfg, metrics: metrics, health: health, logger: Logger(label: "bench"))
        } catch let e as ConfigError { failWithInputError(e.lines) }

        var server: APIServer?, facade: StationFacade?
        if let listen {
            let parts = listen.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port),
                  ["127.0.0.1", "localhost", "::1"].contains(String(parts[0])) else {
                failWithInputError(["--listen must be a loopback HOST:PORT (127.0.0.1:9470): the API runs without tokens here"])
            }
            let f = StationFacade(metrics: metrics, health: health)
            f.update(config: cfg, model: pipeline.model)
            f.attach(pipeline)
            do {
                server = try APIServer(settings: .init(host: String(parts[0]), port: port, maxBody: cfg.http.maxBody), station: f,
                                       logger: Logger(label: "bench"))
            } catch { failWithInputError(["--listen \(listen): \(error)"]) }
            facade = f
        }

        // Capture times of recorded frames not yet known to be committed; this thread stamps them after each
        // flush. Two buffers swapped, and latencies in a fixed histogram: the benchmark itself must not grow
        // with the frame count, or it would blur the memory figures it prints.
        let pending = Mutex<[UInt64]>([])
        pending.withLock { $0.reserveCapacity(1 << 14) }
        var batch: [UInt64] = []
        batch.reserveCapacity(1 << 14)
        var latencies = LatencyHistogram()
        let seen = Atomic<Int>(0)
        let firstMeasured = Mutex<UInt64?>(nil)
        pipeline.onRecorded { capture in
            let n = seen.add(1, ordering: .relaxed).newValue
            if n > warmup { pending.withLock { $0.append(capture) } }
            if n == warmup + 1 { firstMeasured.withLock { $0 = capture } }
        }
        say("bench pipeline: \(cfg.cameras.count) camera(s), \(cfg.workers.count) worker(s) × "
              + "\(cfg.workers.threadsPerWorker) thread(s), model \((cfg.model.path as NSString).lastPathComponent), "
              + (fps.map { "replay paced at \($0) frames/s" } ?? "replay as configured") + ", "
              + (duration.map { String(format: "measuring for %.0f s", $0) } ?? "measuring \(frames) frames")
              + (server.map { ", HTTP API and station page on \($0.port)" } ?? ""))
        let started = Self.monotonic()
        let atStart = MemoryUsage.read()
        say("  memory at start   " + atStart.line)
        var memory = MemoryTrend()
        var afterWarmup: MemoryUsage?
        var measureStart: UInt64?
        var nextSample = started + Self.nanos(memoryEvery)
        var cpuAtStart = 0.0, framesAtStart = 0
        let limit = Self.nanos(duration ?? 600)
        pipeline.start()
        var lastCommit: UInt64 = 0
        while true {
            pending.withLock { swap(&$0, &batch) }
            pipeline.flushAudit()
            let now = Self.monotonic()
            if !batch.isEmpty { lastCommit = now }
            for capture in batch { latencies.add(Double(now &- capture) / 1e6) }
            let idle = batch.isEmpty
            batch.removeAll(keepingCapacity: true)

            let recorded = seen.load(ordering: .relaxed)
            if afterWarmup == nil, recorded >= warmup {
                cpuAtStart = Self.cpuSeconds(); framesAtStart = recorded
                let m = MemoryUsage.read()
                afterWarmup = m; measureStart = now
                memory.add(frames: recorded, m)
                say("  memory warmed up  " + m.line + "  (\(recorded) frames)")
            }
            if now >= nextSample {
                nextSample += Self.nanos(memoryEvery)
                let m = MemoryUsage.read()
                if afterWarmup != nil { memory.add(frames: recorded, m) }
                say(String(format: "  memory at %5.0f s  ", Double(now &- started) / 1e9) + m.line + "  (\(recorded) frames)")
            }
            if let duration, let measureStart {
                if Double(now &- measureStart) / 1e9 >= duration { break }
            } else if latencies.count >= frames {
                break
            }
            if duration == nil && now &- started > limit { say("bench: stopped after 10 minutes"); break }
            if idle { Thread.sleep(forTimeInterval: 0.002) }
        }
        let atEnd = MemoryUsage.read()
        let recordedAtEnd = seen.load(ordering: .relaxed)
        let cpuPerFrame = (Self.cpuSeconds() - cpuAtStart) / Double(max(1, recordedAtEnd - framesAtStart))
        if afterWarmup != nil { memory.add(frames: recordedAtEnd, atEnd) }
        server?.shutdown()
        facade?.stop()
        pipeline.stop(timeout: .seconds(10))
        guard latencies.count > 0, let first = firstMeasured.withLock({ $0 }) else { say("bench: no frame measured"); return }
        let seconds = Double(lastCommit &- first) / 1e9
        say(String(format: "  frames %d (after %d warm-up)  throughput %.1f frames/s", latencies.count, warmup,
                     Double(latencies.count) / max(seconds, 1e-9)))
        // What this process spent per frame (user + system, all threads, the HTTP server's included): unlike
        // frames/s it hardly moves when other processes load the machine, so it shows what serving costs.
        say(String(format: "  cpu per frame %.2f ms (user + system of this process over the measured frames)", cpuPerFrame * 1000))
        say(String(format: "  latency capture→committed  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms",
                     latencies.percentile(0.5), latencies.percentile(0.9), latencies.percentile(0.99), latencies.max))
        say("  memory at end     " + atEnd.line + "  (\(recordedAtEnd) frames)")
        if let warm = afterWarmup {
            say(String(format: "  resident memory  %.1f MB at start, %.1f MB after warm-up, %.1f MB at end, peak %.1f MB",
                         atStart.residentMB, warm.residentMB, atEnd.residentMB, atEnd.peakMB))
            say("  growth after warm-up  " + memory.summary)
        }
    }

    static func monotonic() -> UInt64 {
        var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func nanos(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }

    /// User + system CPU seconds of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Resident memory of a process from /proc/PID/status (this one by default), and for this one glibc's heap
    /// figures (malloc_info), MB.
    /// Heap in use growing means something keeps memory per frame; free heap growing while in use stays flat
    /// means fragmentation.
    struct MemoryUsage {
        var residentMB = 0.0, anonymousMB = 0.0, fileMB = 0.0, peakMB = 0.0
        var heap: HeapUsage?

        static func read(process: String = "self") -> MemoryUsage {
            var m = MemoryUsage()
            if process == "self" { m.heap = HeapUsage.read() }
            guard let text = try? String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8) else { return m }
            for line in text.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
                guard parts.count >= 2, let kB = Double(parts[1]) else { continue }
                switch parts[0] {
                case "VmRSS": m.residentMB = kB / 1024
                case "RssAnon": m.anonymousMB = kB / 1024
                case "RssFile": m.fileMB = kB / 1024
                case "VmHWM": m.peakMB = kB / 1024
                default: break
                }
            }
            return m
        }

        var line: String {
            String(format: "RSS %.1f MB (anonymous %.1f, file %.1f)", residentMB, anonymousMB, fileMB)
                + (heap.map { String(format: "  heap in use %.1f MB, free %.1f MB in %d arenas, mmapped %.1f MB",
                                     $0.inUseMB, $0.freeMB, $0.arenas, $0.mmappedMB)
                               + String(format: ", SQLite %.1f MB", $0.sqliteMB) } ?? "")
        }
    }

    /// RSS against frames recorded, from the end of warm-up on; the growth is the least-squares slope.
    struct MemoryTrend {
        private struct Point { var frames: Double, residentMB: Double, anonymousMB: Double, heapInUseMB: Double }
        private var points: [Point] = []
        private var hasHeap = true

        mutating func add(frames: Int, _ m: MemoryUsage) {
            hasHeap = hasHeap && m.heap != nil
            points.append(Point(frames: Double(frames), residentMB: m.residentMB, anonymousMB: m.anonymousMB,
                                heapInUseMB: m.heap?.inUseMB ?? 0))
        }

        /// MB per 1000 frames over `points` (nil with fewer than two distinct frame counts).
        private static func slope(_ points: ArraySlice<Point>, _ value: KeyPath<Point, Double>) -> Double? {
            guard points.count >= 2 else { return nil }
            let n = Double(points.count)
            var mx = 0.0, my = 0.0
            for p in points { mx += p.frames / n; my += p[keyPath: value] / n }
            var sxx = 0.0, sxy = 0.0
            for p in points { sxx += (p.frames - mx) * (p.frames - mx); sxy += (p.frames - mx) * (p[keyPath: value] - my) }
            return sxx > 0 ? 1000 * sxy / sxx : nil
        }

        var summary: String {
            guard let first = points.first, let last = points.last, last.frames > first.frames else {
                return "not measured (too few frames after warm-up)"
            }
            let all = points[...], late = points[(points.count / 2)...]
            func f(_ v: Double?) -> String { v.map { String(format: "%+.3f", $0) } ?? "n/a" }
            return String(format: "%+.1f MB over %.0f frames: ", last.residentMB - first.residentMB, last.frames - first.frames)
                + "\(f(Self.slope(all, \.residentMB))) MB per 1000 frames (anonymous \(f(Self.slope(all, \.anonymousMB)))"
                + (hasHeap ? ", heap in use \(f(Self.slope(all, \.heapInUseMB)))" : "") + "), "
                + "second half \(f(Self.slope(late, \.residentMB))) MB per 1000 frames"
                + (hasHeap ? " (heap in use \(f(Self.slope(late, \.heapInUseMB))))" : "") + "; \(points.count) samples"
        }
    }

    /// Latencies in fixed logarithmic buckets 0.5% wide from 0.01 ms: percentiles to within 0.5% in constant
    /// memory, however long the run.
    struct LatencyHistogram {
        private static let base = 0.01, ratio = 1.005
        private var buckets = [Int](repeating: 0, count: 4096)
        private(set) var count = 0
        private(set) var max = 0.0

        mutating func add(_ ms: Double) {
            let i = ms > Self.base ? Int(log(ms / Self.base) / log(Self.ratio)) : 0
            buckets[min(Swift.max(i, 0), buckets.count - 1)] += 1
            count += 1
            max = Swift.max(max, ms)
        }

        /// The value below which a fraction `p` of the latencies fall (the bucket's geometric middle).
        func percentile(_ p: Double) -> Double {
            let rank = min(count - 1, Int(Double(count) * p))
            var seen = 0
            for (i, n) in buckets.enumerated() {
                seen += n
                if seen > rank { return Swift.min(max, Self.base * pow(Self.ratio, Double(i) + 0.5)) }
            }
            return max
        }
    }
}
