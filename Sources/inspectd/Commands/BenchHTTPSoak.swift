import ArgumentParser
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `inspectd bench http --soak SECONDS`: the HTTP API under a long mixed load. Starts a real mosquitto and the
/// release daemon (`inspectd run`, this executable, as a child process: its memory and descriptors are the
/// daemon's alone) with a synthetic camera at full rate, then runs `clients` clients that mix what people and
/// systems ask a station (detect an image, pages of inspections, a CSV export, status, cameras, metrics, health,
/// snapshots, live frames) and `listeners` Server-Sent Events listeners that cut their connection now and then
/// and resume with `Last-Event-ID`. Prints the status codes, latency per kind of request, the events received,
/// the daemon's resident memory and open descriptors over time, each listener's events checked against the
/// audit database (no gap, no duplicate), and a verdict; exits 1 when it fails.
struct BenchHTTPSoak {
    var seconds: Double
    var clients: Int
    var listeners: Int
    var memoryEvery: Double
    /// Mean pause of a client between two requests, ms (uniform over 0…2×).
    var pause: Double
    var model: String
    var workers: Int?

    /// The kinds of request the clients mix, with their weights.
    enum Kind: String, CaseIterable {
        case detect, inspections, defectsCSV = "defects.csv", status, cameras, metrics, healthz, snapshot, frame

        var weight: Int {
            switch self {
            case .detect: 10
            case .inspections: 15
            case .defectsCSV: 4
            case .status, .cameras, .metrics, .snapshot: 10
            case .healthz, .frame: 15
            }
        }
    }

    /// Memory after warm-up may grow by at most this share of itself, or `flatAllowanceMiB` if that is larger: by
    /// the end of the run, and in an hour at the least-squares slope of the samples after warm-up (so a steady
    /// climb fails even when a short run ends inside the allowance). The slope is judged less two standard errors
    /// (about 95% confidence): RSS wobbles by about ±1 MiB from sample to sample, and over a 10-minute run's
    /// 8 samples that wobble alone extrapolates to ±10 MiB an hour; a real climb (+42 MiB an hour, 2026-12-05)
    /// stays far above the allowance after the subtraction, while a run that ends +0.3 MiB up no longer fails.
    static let flatShare = 0.05, flatAllowanceMiB = 8.0

    func run() throws {
        guard seconds >= 10, (1...1000).contains(clients), (0...200).contains(listeners), memoryEvery >= 1, pause >= 0 else {
            failWithInputError(["--soak must be at least 10 s, --clients 1…1000, --listeners 0…200, --memory-every ≥ 1 s, --pause ≥ 0"])
        }
        guard FileManager.default.fileExists(atPath: model) else { failWithInputError(["--model: no file \(model)"]) }
        let images = Self.images()
        guard !images.isEmpty else {
            failWithInputError(["no DeepPCB val JPEG in $INSPECTD_SHARED or ../shared (datasets/deeppcb/images/val)"])
        }
        guard BenchBroker.executable != nil else { failWithInputError(["mosquitto is not installed (apt-get install mosquitto)"]) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-soak-http-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let broker = try BenchBroker(directory: dir)
        defer { broker.stop() }
        let brokerPort = broker.port, httpPort = try BenchBroker.freePort()
        try """
            site: {line: soak, station: http}
            model: {path: \(URL(fileURLWithPath: model).standardizedFileURL.path)}
            \(workers.map { "workers: {count: \($0)}" } ?? "")
            cameras:
              - id: synth
                source: {type: synthetic, width: 640, height: 640, fps: 0, defects_per_frame: [0, 2]}
            mqtt: {host: 127.0.0.1, port: \(brokerPort), client_id: inspectd-soak-http, topic_prefix: soak/http}
            audit: {path: \(dir.path)/audit.db}
            snapshots: {enabled: true, dir: \(dir.path)/snapshots, cap_mb: 200}
            http: {listen: "127.0.0.1:\(httpPort)"}
            stats_interval: 1d
            """.write(to: dir.appendingPathComponent("inspectd.yaml"), atomically: true, encoding: .utf8)

        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let daemon = try Self.launch(executable, ["run", "--config", dir.appendingPathComponent("inspectd.yaml").path],
                                     log: dir.appendingPathComponent("daemon.log"))
        defer { if daemon.isRunning { daemon.terminate(); daemon.waitUntilExit() } }
        let pid = daemon.processIdentifier
        try Self.waitUntilServing(port: httpPort, daemon: daemon, log: dir.appendingPathComponent("daemon.log"))
        say(String(format: "bench http --soak: %.0f s, %d clients (pause %.0f ms on average), %d SSE listeners; daemon pid %d "
                   + "(synthetic 640×640 camera at full rate, %@, MQTT to mosquitto on port %d); work files in %@",
                   seconds, clients, pause, listeners, pid, (model as NSString).lastPathComponent, brokerPort, dir.path))

        let tally = Tally(), pool = SnapshotPool(), done = Atomic<Bool>(false)
        let feeds = (0..<listeners).map { _ in Feed() }
        let group = DispatchGroup()
        let since = Self.timestamp(Date())
        for n in 0..<clients {
            group.enter()
            let pause = self.pause
            Thread.detachNewThread {
                defer { group.leave() }
                var client = Client(port: httpPort, images: images, since: since, tally: tally, pool: pool, seed: UInt64(n + 1))
                while !done.load(ordering: .relaxed) {
                    client.once()
                    if pause > 0 { usleep(UInt32(Double.random(in: 0...(2 * pause), using: &client.random) * 1000)) }
                }
            }
        }
        for feed in feeds {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                feed.listen(port: httpPort, until: done)
            }
        }

        // Resident memory and open descriptors of the daemon, printed as they are sampled.
        let started = Date()
        var samples: [Sample] = []
        say("  t(s)  RSS(MiB) (anon   file)  heap: in use (SQLite)  free  mmapped  fds   requests  SSE events")
        func sample() {
            let m = BenchPipeline.MemoryUsage.read(process: "\(pid)")
            let s = Sample(t: Date().timeIntervalSince(started), residentMiB: m.residentMB, fds: Self.openFDs(pid),
                           heap: Self.heap(port: httpPort))
            samples.append(s)
            say(String(format: "  %5.0f  %8.1f %6.1f %6.1f  %12.1f (%6.1f) %5.1f %8.1f  %4d  %9d  %10d", s.t, s.residentMiB,
                       m.anonymousMB, m.fileMB, s.heap["heap_in_use"] ?? .nan, s.heap["sqlite"] ?? .nan,
                       s.heap["heap_free"] ?? .nan, s.heap["heap_mmapped"] ?? .nan, s.fds, tally.requests,
                       feeds.reduce(0) { $0 + $1.received }))
        }
        sample()
        while Date().timeIntervalSince(started) < seconds {
            let next = min(seconds, (samples.last?.t ?? 0) + memoryEvery)
            Thread.sleep(forTimeInterval: max(0, next - Date().timeIntervalSince(started)))
            guard daemon.isRunning else { break }
            sample()
        }
        done.store(true, ordering: .relaxed)
        group.wait()
        let daemonDied = !daemon.isRunning
        daemon.terminate()
        daemon.waitUntilExit()
        let exitCode = daemon.terminationStatus
        broker.stop()

        try report(tally: tally, feeds: feeds, samples: samples, exitCode: daemonDied ? -1 : exitCode,
                   database: dir.appendingPathComponent("audit.db").path, log: dir.appendingPathComponent("daemon.log").path)
        try? FileManager.default.removeItem(at: dir)
    }

    /// Prints the figures and the verdict; throws `ExitCode(1)` when the soak failed.
    private func report(tally: Tally, feeds: [Feed], samples: [Sample], exitCode: Int32, database: String, log: String) throws {
        let kinds = tally.snapshot()
        var codes: [Int: Int] = [:]
        for k in kinds.values { for (code, n) in k.codes { codes[code, default: 0] += n } }
        let failures = kinds.values.reduce(0) { $0 + $1.failures }
        say("  status codes: " + codes.sorted { $0.key < $1.key }.map { "\($0.key == 0 ? "no answer" : "\($0.key)") \($0.value)" }
            .joined(separator: ", ") + (failures > 0 ? " (no answer = connection failed or timed out)" : ""))
        say("  request          count     p50 ms    p99 ms   codes")
        for kind in Kind.allCases {
            guard let k = kinds[kind], k.latency.count > 0 else { continue }
            say("  " + kind.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)
                + String(format: " %8d  %9.2f %9.2f   ", k.latency.count,
                       k.latency.percentile(0.5), k.latency.percentile(0.99))
                + k.codes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                + (k.lastFailure.map { "  (last failure: \($0.prefix(120)))" } ?? ""))
        }

        // Each listener's events against the audit database, after the daemon stopped.
        let rows = try Self.query(database, "SELECT id, verdict FROM inspections ORDER BY id")
        let inspections = rows.compactMap { r -> (Int64, String)? in Int64(r[0]).map { ($0, r.count > 1 ? r[1] : "") } }
        let eventIDs = try Self.query(database, "SELECT id FROM service_events ORDER BY id").compactMap { Int64($0[0]) }
        var gaps = 0, duplicates = 0, wrongResumes = 0, received = 0, reconnects = 0, ownCuts = 0, serverEnds = 0, errors = 0
        var problems: [String] = []
        for (n, feed) in feeds.enumerated() {
            let f = feed.result()
            received += f.events.count; reconnects += f.connections - 1; ownCuts += f.ownCuts; serverEnds += f.serverEnds
            errors += f.errors; wrongResumes += f.wrongResumes
            let check = Self.check(f, inspections: inspections, eventIDs: eventIDs)
            if check.gap { gaps += 1 }
            if check.duplicate { duplicates += 1 }
            if let p = check.problem { problems.append("listener \(n + 1): \(p)") }
        }
        let judged = inspections.count
        say("  SSE: \(received) events received by \(feeds.count) listeners, \(reconnects) reconnects with Last-Event-ID "
            + "(\(ownCuts) cut by the listener, \(serverEnds) ended by the server, \(errors) after a connection error); "
            + "resumed elsewhere than the last id: \(wrongResumes)")
        say("  SSE against the audit database (\(judged) inspections, \(eventIDs.count) service events on record): "
            + "listeners with a gap \(gaps), with a duplicate \(duplicates)")
        for p in problems.prefix(10) { say("    " + p) }

        // Memory: flat after warm-up (the first quarter of the run, at least one sample in).
        let warmIndex = samples.firstIndex(where: { $0.t >= seconds / 4 }) ?? max(0, samples.count - 1)
        let warm = samples[warmIndex], last = samples[samples.count - 1]
        let allowance = max(Self.flatShare * warm.residentMiB, Self.flatAllowanceMiB)
        let later = samples[warmIndex...]
        let (slope, slopeError) = Self.slope(later)
        let hourly = slope * 3600, hourlyError = slopeError * 3600
        let flat = last.residentMiB - warm.residentMiB <= allowance && hourly - 2 * hourlyError <= allowance
        say(String(format: "  daemon RSS %.1f MiB at start, %.1f MiB after warm-up (t=%.0f s), %.1f MiB at the end (%+.1f; "
                   + "least-squares slope after warm-up %+.2f ± %.2f MiB per 10 min, one standard error); fds %d…%d after warm-up",
                   samples[0].residentMiB, warm.residentMiB, warm.t, last.residentMiB, last.residentMiB - warm.residentMiB,
                   slope * 600, slopeError * 600, later.map(\.fds).min() ?? 0, later.map(\.fds).max() ?? 0))
        // Where growth after warm-up sits: the heap's parts, so a cache filling (SQLite) tells itself from a leak.
        let parts = ["heap_in_use", "sqlite", "heap_free", "heap_mmapped"].compactMap { kind -> String? in
            guard let a = warm.heap[kind], let b = last.heap[kind] else { return nil }
            return String(format: "%@ %+.1f", kind, b - a)
        }
        if !parts.isEmpty { say("  heap after warm-up to the end (MiB): " + parts.joined(separator: ", ")) }
        say("  daemon exit code: \(exitCode == -1 ? "died during the soak (see \(log))" : "\(exitCode)")")

        let server5xx = codes.filter { $0.key >= 500 && $0.key != 503 }.values.reduce(0, +)
        let client4xx = codes.filter { (400..<500).contains($0.key) && $0.key != 429 && $0.key != 404 }.values.reduce(0, +)
        var failed: [String] = []
        if server5xx > 0 { failed.append("\(server5xx) answers 5xx other than 503") }
        if failures > 0 { failed.append("\(failures) requests without an answer") }
        if client4xx > 0 { failed.append("\(client4xx) answers 4xx other than 404/429 (a request this soak sends wrongly?)") }
        if gaps > 0 || duplicates > 0 { failed.append("SSE: \(gaps) listeners saw a gap, \(duplicates) a duplicate") }
        if wrongResumes > 0 { failed.append("SSE: \(wrongResumes) resumes elsewhere than the last id") }
        if received == 0 && !feeds.isEmpty { failed.append("SSE: no event received") }
        if !flat {
            failed.append(String(format: "RSS not flat: %+.1f MiB after warm-up, %+.1f ± %.1f MiB an hour at its slope (allowed %.1f "
                                 + "after subtracting two standard errors)",
                                 last.residentMiB - warm.residentMiB, hourly, hourlyError, allowance))
        }
        if exitCode != 0 { failed.append("the daemon did not stop cleanly") }
        say("  rule: no 5xx but 503, every request answered, no 4xx but 404 (a snapshot pruned) and 429, every SSE "
            + "listener's events exactly the audit database's between its first and last id, RSS at the end at most "
            + String(format: "max(%.0f%%, %.0f MiB) above the first sample after the first quarter of the run, and no more "
                     + "than that an hour at the slope of the samples since less two standard errors, a clean stop",
                     Self.flatShare * 100, Self.flatAllowanceMiB))
        if failed.isEmpty {
            say("soak http: OK")
        } else {
            say("soak http: FAILED: " + failed.joined(separator: "; "))
            throw ExitCode(1)
        }
    }

    // MARK: - the clients

    /// One client's loop body: a request of a random kind, timed and counted.
    private struct Client {
        let port: Int, images: [Data], since: String, tally: Tally, pool: SnapshotPool
        var random: SplitMix
        private var connection: BenchHTTPConnection?
        private let weights: [(Kind, Int)] = Kind.allCases.map { ($0, $0.weight) }

        init(port: Int, images: [Data], since: String, tally: Tally, pool: SnapshotPool, seed: UInt64) {
            self.port = port; self.images = images; self.since = since; self.tally = tally; self.pool = pool
            random = SplitMix(seed: seed)
        }

        mutating func once() {
            var pick = Int.random(in: 0..<weights.reduce(0) { $0 + $1.1 }, using: &random)
            var kind = Kind.healthz
            for (k, w) in weights { if pick < w { kind = k; break }; pick -= w }
            switch kind {
            case .detect:
                let image = images[Int.random(in: 0..<images.count, using: &random)]
                _ = send(kind, "POST", "/api/v1/detect", body: image, type: "image/jpeg")
            case .inspections:
                let query = [
                    "limit=50",
                    "verdict=NG&camera=synth&limit=20",
                    "since=\(since)&verdict=OK&limit=100",
                    "class=short&limit=10",
                ][Int.random(in: 0..<4, using: &random)]
                // A page, and the next one when there is one: how a client pages through records.
                guard let page = send(kind, "GET", "/api/v1/inspections?" + query) else { return }
                if let next = page["next"] as? String, let cursor = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) {
                    _ = send(kind, "GET", "/api/v1/inspections?\(query)&cursor=\(cursor)")
                }
            case .defectsCSV:
                _ = send(kind, "GET", "/api/v1/defects?format=csv&since=\(Self.timestamp(Date().addingTimeInterval(-60)))&limit=5000",
                         json: false)
            case .status: _ = send(kind, "GET", "/api/v1/status")
            case .cameras: _ = send(kind, "GET", "/api/v1/cameras")
            case .metrics: _ = send(kind, "GET", "/metrics", json: false)
            case .healthz: _ = send(kind, "GET", "/healthz")
            case .snapshot:
                guard let id = pool.pick(&random) else { return }
                _ = send(kind, "GET", "/api/v1/inspections/\(id)/snapshot.jpg" + (Bool.random(using: &random) ? "?annotated=1" : ""),
                         json: false)
            case .frame:
                _ = send(kind, "GET", "/api/v1/cameras/synth/frame.jpg" + (Bool.random(using: &random) ? "?annotated=1" : ""),
                         json: false)
            }
        }

        /// Sends one request and counts it; the answer as a JSON object when `json` and it is one (and 200).
        private mutating func send(_ kind: Kind, _ method: String, _ path: String, body: Data = Data(), type: String? = nil,
                                   json: Bool = true) -> [String: Any]? {
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                if connection == nil { connection = try BenchHTTPConnection(port: port, timeout: 60) }
                let answer = try connection!.request(method, path, body: body, contentType: type)
                let unexpected = (answer.status >= 500 && answer.status != 503)
                    || ((400..<500).contains(answer.status) && answer.status != 429 && answer.status != 404)
                tally.add(kind, status: answer.status, ms: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6,
                          failure: unexpected ? "\(answer.status) \(path): \(String(decoding: answer.body.prefix(200), as: UTF8.self))" : nil)
                guard json, answer.status == 200,
                      let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any] else { return nil }
                if kind == .inspections, let items = object["inspections"] as? [[String: Any]] {
                    pool.add(items.compactMap { $0["snapshot"] != nil ? ($0["id"] as? NSNumber)?.int64Value : nil })
                }
                return object
            } catch {
                connection = nil
                tally.add(kind, status: 0, ms: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, failure: "\(path): \(error)")
                return nil
            }
        }

        static func timestamp(_ date: Date) -> String { BenchHTTPSoak.timestamp(date) }
    }

    /// Counts and latencies per kind of request, from all clients.
    private final class Tally: Sendable {
        struct Figures {
            var codes: [Int: Int] = [:]
            var latency = BenchPipeline.LatencyHistogram()
            var failures = 0
            var lastFailure: String?
        }
        private let state = Mutex<[Kind: Figures]>([:])
        private let total = Atomic<Int>(0)

        func add(_ kind: Kind, status: Int, ms: Double, failure: String?) {
            total.add(1, ordering: .relaxed)
            state.withLock {
                $0[kind, default: Figures()].codes[status, default: 0] += 1
                if status != 0 { $0[kind, default: Figures()].latency.add(ms) } else { $0[kind, default: Figures()].failures += 1 }
                if let failure { $0[kind, default: Figures()].lastFailure = failure }
            }
        }

        var requests: Int { total.load(ordering: .relaxed) }
        func snapshot() -> [Kind: Figures] { state.withLock { $0 } }
    }

    /// Inspections known to have a snapshot (from the pages the clients read), for snapshot requests.
    private final class SnapshotPool: Sendable {
        private let ids = Mutex<[Int64]>([])
        func add(_ new: [Int64]) { ids.withLock { $0 = Array(($0 + new).suffix(500)) } }
        func pick(_ random: inout SplitMix) -> Int64? {
            ids.withLock { $0.isEmpty ? nil : $0[Int.random(in: 0..<$0.count, using: &random)] }
        }
    }

    /// A small seeded generator, so each client's mix is reproducible.
    struct SplitMix: RandomNumberGenerator {
        private var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // MARK: - the SSE listeners

    /// One SSE listener: connects to `/api/v1/events`, cuts its connection after 10-40 s (or when the server
    /// ends it), and resumes with the last id it received.
    private final class Feed: Sendable {
        struct Event { var cursor: (inspection: Int64, event: Int64), type: String, id: Int64?, count: Int }
        struct Result {
            /// Where the first connection started (the server's `after` line).
            var start: (inspection: Int64, event: Int64)?
            var events: [Event] = []
            var connections = 0, ownCuts = 0, serverEnds = 0, errors = 0, wrongResumes = 0
        }
        private let state = Mutex(Result())
        private let count = Atomic<Int>(0)

        var received: Int { count.load(ordering: .relaxed) }
        func result() -> Result { state.withLock { $0 } }

        func listen(port: Int, until done: borrowing Atomic<Bool>) {
            var random = SplitMix(seed: UInt64(UInt(bitPattern: ObjectIdentifier(self).hashValue)))
            var last: String?
            while !done.load(ordering: .relaxed) {
                let cutAt = Date().addingTimeInterval(Double.random(in: 10...40, using: &random))
                var text = Data(), cut = false
                do {
                    let connection = try BenchHTTPConnection(port: port, timeout: 0.5)
                    state.withLock { $0.connections += 1 }
                    let resumeFrom = last
                    let status = try connection.stream("/api/v1/events", headers: last.map { [("Last-Event-ID", $0)] } ?? []) { data in
                        text.append(data)
                        let separator = Data("\n\n".utf8)
                        while let end = text.range(of: separator) {
                            let block = String(decoding: text[..<end.lowerBound], as: UTF8.self)
                            text = Data(text[end.upperBound...])
                            self.handle(block, resumeFrom: resumeFrom, last: &last)
                        }
                        if done.load(ordering: .relaxed) || Date() > cutAt { cut = true; return false }
                        return true
                    }
                    if status != 200 {
                        state.withLock { $0.errors += 1 }
                        Thread.sleep(forTimeInterval: 1)
                    } else if cut {
                        if !done.load(ordering: .relaxed) { state.withLock { $0.ownCuts += 1 } }
                    } else {
                        state.withLock { $0.serverEnds += 1 }
                    }
                } catch {
                    state.withLock { $0.errors += 1 }
                    Thread.sleep(forTimeInterval: 0.5)
                }
            }
        }

        /// One SSE block: the greeting comment (where the stream starts) or an event.
        private func handle(_ block: String, resumeFrom: String?, last: inout String?) {
            var id: String?, type = "message", data = ""
            for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix(": inspectd events after ") {
                    let after = String(line.dropFirst(": inspectd events after ".count))
                    state.withLock {
                        if $0.start == nil { $0.start = Self.cursor(after) }
                        if let resumeFrom, resumeFrom != after { $0.wrongResumes += 1 }
                    }
                } else if line.hasPrefix("id: ") {
                    id = String(line.dropFirst(4))
                } else if line.hasPrefix("event: ") {
                    type = String(line.dropFirst(7))
                } else if line.hasPrefix("data: ") {
                    data += line.dropFirst(6)
                }
            }
            guard let id, let cursor = Self.cursor(id) else { return }
            let object = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
            let event = Event(cursor: cursor, type: type, id: (object["id"] as? NSNumber)?.int64Value,
                              count: (object["count"] as? NSNumber)?.intValue ?? 0)
            state.withLock { $0.events.append(event) }
            count.add(1, ordering: .relaxed)
            last = id
        }

        static func cursor(_ token: String) -> (inspection: Int64, event: Int64)? {
            let parts = token.split(separator: "-")
            guard parts.count == 2, let i = Int64(parts[0]), let e = Int64(parts[1]) else { return nil }
            return (i, e)
        }
    }

    /// Whether a listener's events are exactly the audit database's between where it started and its last id:
    /// every NG/ERROR inspection once, OK ones counted once in `ok` events, every service event once, ids only
    /// increasing.
    private static func check(_ f: Feed.Result, inspections: [(Int64, String)], eventIDs: [Int64])
        -> (gap: Bool, duplicate: Bool, problem: String?) {
        guard let start = f.start else { return (f.connections > 0, false, f.connections > 0 ? "never got the stream's greeting" : nil) }
        guard let end = f.events.last?.cursor else { return (false, false, nil) }
        var previous = start, backwards = 0
        var judged: [Int64] = [], oks = 0, services: [Int64] = []
        for e in f.events {
            if e.cursor.inspection < previous.inspection || e.cursor.event < previous.event
                || (e.cursor.inspection == previous.inspection && e.cursor.event == previous.event) { backwards += 1 }
            previous = e.cursor
            switch e.type {
            case "inspection": if let id = e.id { judged.append(id) }
            case "ok": oks += e.count
            default: if let id = e.id { services.append(id) }
            }
        }
        let range = inspections.filter { $0.0 > start.inspection && $0.0 <= end.inspection }
        let expectedJudged = Set(range.filter { $0.1 != "OK" }.map(\.0)), expectedOK = range.filter { $0.1 == "OK" }.count
        let expectedServices = Set(eventIDs.filter { $0 > start.event && $0 <= end.event })
        let missing = expectedJudged.subtracting(judged).count + expectedServices.subtracting(services).count
        let repeated = (judged.count - Set(judged).count) + (services.count - Set(services).count)
        let unknown = Set(judged).subtracting(expectedJudged).count + Set(services).subtracting(expectedServices).count
        let gap = missing > 0 || oks < expectedOK || unknown > 0
        let duplicate = repeated > 0 || oks > expectedOK || backwards > 0
        let problem = gap || duplicate
            ? "\(missing) records missing, \(unknown) not on record, \(repeated) repeated, \(backwards) ids not after the previous, "
              + "OK inspections \(oks) counted for \(expectedOK) on record"
            : nil
        return (gap, duplicate, problem)
    }

    // MARK: - the daemon and its surroundings

    private struct Sample {
        var t: Double, residentMiB: Double, fds: Int
        /// The daemon's heap by part (`inspectd_memory_bytes` on its /metrics), MiB; empty when the scrape failed.
        var heap: [String: Double] = [:]
    }

    /// The daemon's `inspectd_memory_bytes` by kind, in MiB.
    private static func heap(port: Int) -> [String: Double] {
        guard let c = try? BenchHTTPConnection(port: port, timeout: 10), let r = try? c.request("GET", "/metrics"),
              r.status == 200 else { return [:] }
        var out: [String: Double] = [:]
        for line in String(decoding: r.body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("inspectd_memory_bytes{kind=\"") {
            let rest = line.dropFirst("inspectd_memory_bytes{kind=\"".count)
            guard let q = rest.firstIndex(of: "\""), let v = Double(rest.split(separator: " ").last ?? "") else { continue }
            out[String(rest[..<q])] = v / 1_048_576
        }
        return out
    }

    /// Least-squares slope of RSS over time and its standard error, MiB per second.
    private static func slope(_ samples: ArraySlice<Sample>) -> (slope: Double, standardError: Double) {
        guard samples.count >= 2 else { return (0, 0) }
        let n = Double(samples.count)
        let mt = samples.reduce(0) { $0 + $1.t } / n, mr = samples.reduce(0) { $0 + $1.residentMiB } / n
        let sxx = samples.reduce(0) { $0 + ($1.t - mt) * ($1.t - mt) }
        let sxy = samples.reduce(0) { $0 + ($1.t - mt) * ($1.residentMiB - mr) }
        guard sxx > 0 else { return (0, 0) }
        let b = sxy / sxx
        guard samples.count >= 3 else { return (b, 0) }
        let residuals = samples.reduce(0) { let e = $1.residentMiB - mr - b * ($1.t - mt); return $0 + e * e }
        return (b, (residuals / (n - 2) / sxx).squareRoot())
    }

    private static func openFDs(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count ?? 0
    }

    private static func launch(_ path: String, _ arguments: [String], log: URL) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
    }

    /// Waits (up to 2 minutes: the model loads first) until the daemon answers `/healthz` with 200.
    private static func waitUntilServing(port: Int, daemon: Process, log: URL) throws {
        let limit = Date().addingTimeInterval(120)
        while Date() < limit {
            guard daemon.isRunning else {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw ValidationError("the daemon exited \(daemon.terminationStatus):\n" + text.split(separator: "\n").suffix(20).joined(separator: "\n"))
            }
            if let c = try? BenchHTTPConnection(port: port, timeout: 5), (try? c.request("GET", "/healthz"))?.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ValidationError("the daemon did not answer /healthz with 200 within 2 minutes (log: \(log.path))")
    }

    /// Rows of `sql` on the database (read only), with the sqlite3 shell: the check reads the file as any
    /// other tool would, not through the daemon's own queries.
    private static func query(_ database: String, _ sql: String) throws -> [[String]] {
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-readonly", database, sql]
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("sqlite3 \(database) failed (\(process.terminationStatus))") }
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
    }

    /// The DeepPCB val JPEGs (at most 100), read into memory.
    private static func images() -> [Data] {
        let shared = ProcessInfo.processInfo.environment["INSPECTD_SHARED"] ?? "../shared"
        let dir = shared + "/datasets/deeppcb/images/val"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".jpg") }.sorted()
        return names.prefix(100).compactMap { FileManager.default.contents(atPath: dir + "/" + $0) }
    }

    static func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter.string(from: date, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withInternetDateTime])
    }
}
