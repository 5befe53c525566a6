import API
import ArgumentParser
import Daemon
import Detection
import Engine
import Foundation
import Imaging
import Logging
import Synchronization

/// `inspectd bench http`: what the HTTP API costs. Detect latency of one image over HTTP (one client, keep-alive)
/// against the same image through `inspectd detect`'s in-process path; throughput with N concurrent clients; and
/// the camera pipeline's frames/s without and with that API load (the API's images take their turn on the same
/// worker pool). Prints figures, never pass/fail. With `--soak SECONDS` it is the API's soak instead
/// (`BenchHTTPSoak`: the daemon as a child process under mixed load and SSE listeners, with a verdict).
struct BenchHTTP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "HTTP API: detect latency vs in-process, throughput with concurrent clients, camera frames/s under API load.",
        discussion: """
            Runs the config's pipeline in this process with its HTTP listener on a free loopback port (tokens off). \
            Phase 1 measures the in-process path and, with the cameras removed, POST /api/v1/detect one request at a \
            time; phase 2 runs the cameras, counts their frames/s for --window seconds, then again while --clients \
            clients send the image as fast as they are answered.

            With --soak SECONDS: starts mosquitto and `inspectd run` (a synthetic camera at full rate, --model) in \
            a temporary directory, runs --clients clients mixing the API's requests and --listeners SSE listeners \
            that cut and resume with Last-Event-ID, prints status codes, latency per request kind, the daemon's \
            RSS and fds every --memory-every seconds, checks every listener's events against the audit database, \
            and ends with a verdict (exit 1 on failure). --config is not used then.
            """)

    @Option(name: .long, help: "The YAML config file (its cameras run in phase 2; replay cameras loop). Required but with --soak.")
    var config: String?

    @Option(name: .long, help: "JPEG or PNG image to send (default: the first DeepPCB val image in ../shared or $INSPECTD_SHARED).")
    var image: String?

    @Option(name: .long, help: "Requests for the latency comparison (after 5 warm-up ones).")
    var requests: Int = 100

    @Option(name: .long, help: "Concurrent clients in the throughput phase.")
    var clients: Int = 8

    @Option(name: .long, help: "Seconds each frames/s window lasts (without, then with API load).")
    var window: Double = 20

    @Option(name: .long, help: "Soak the API for this many seconds instead (e.g. 600 with --clients 50 --listeners 10).")
    var soak: Double?

    @Option(name: .long, help: "Soak: SSE listeners on /api/v1/events.")
    var listeners: Int = 10

    @Option(name: .long, help: "Soak: sample the daemon's resident memory and open descriptors every this many seconds.")
    var memoryEvery: Double = 60

    @Option(name: .long, help: "Soak: each client's mean pause between requests, ms (uniform over 0 to twice this).")
    var pause: Double = 100

    @Option(name: .long, help: "Soak: the daemon's model.")
    var model: String = "Models/deeppcb-yolov8n.int8.onnx"

    @Option(name: .long, help: "Soak: the daemon's inference workers (default: the config default).")
    var workers: Int?

    func run() throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label); h.logLevel = .warning; return h
        }
        if let soak {
            try BenchHTTPSoak(seconds: soak, clients: clients, listeners: listeners, memoryEvery: memoryEvery, pause: pause,
                              model: model, workers: workers).run()
            return
        }
        guard let config else { failWithInputError(["--config is required (but with --soak)"]) }
        guard requests > 0, (1...256).contains(clients), window >= 1 else {
            failWithInputError(["--requests must be > 0, --clients within 1…256, --window at least 1 s"])
        }
        var cfg: InspectdConfig
        do { cfg = try InspectdConfig.load(path: config) } catch let e as ConfigError { failWithInputError(e.lines) }
        for i in cfg.cameras.indices {
            if case .replay(var r) = cfg.cameras[i].source { r.loop = true; cfg.cameras[i].source = .replay(r) }
        }
        let path = image ?? Self.defaultImage()
        guard let path, let body = FileManager.default.contents(atPath: path) else {
            failWithInputError(["--image: cannot read \(image ?? "a DeepPCB val image (none found; give --image)")"])
        }
        let type = body.starts(with: [0x89, 0x50, 0x4E, 0x47]) ? "image/png" : "image/jpeg"
        say("bench http: \(path) (\(body.count) bytes), \(cfg.workers.count) worker(s) × \(cfg.workers.threadsPerWorker) "
            + "thread(s), model \((cfg.model.path as NSString).lastPathComponent)")

        // Phase 1a: the in-process path of `inspectd detect` (read, inspect, judge), same thresholds.
        let model: Model
        let inProcess: [Double]
        do {
            model = try Model(path: cfg.model.path)
            let detector = try FrameDetector(outputShape: model.info.outputs.first?.shape ?? [], classNames: model.info.classNames,
                                             settings: cfg.detection.settings)
            let inspector = try FrameInspector(model: model, detector: detector, threads: cfg.workers.threadsPerWorker)
            let judge = try CameraJudge(cameraID: "bench", classNames: detector.classNames, settings: detector.settings)
            let reader = ImageFileReader()
            inProcess = try Self.timed(requests, warmup: 5) {
                let pixels = try reader.read(path: path)
                let result = try inspector.inspect(pixels)
                _ = judge.judge(result.candidates, frame: FrameStamp(sequence: 0, captureTime: Date()))
            }
        } catch {
            failWithInputError(["\(error)"])
        }

        // Phase 1b: the same over HTTP, one client, no camera running.
        var pure = cfg
        pure.cameras = []
        let overHTTP: [Double]
        do {
            let station = try Station(pure)
            defer { station.stop() }
            let connection = try BenchHTTPConnection(port: station.port)
            overHTTP = try Self.timed(requests, warmup: 5) {
                let (status, answer) = try connection.request("POST", "/api/v1/detect", body: body, contentType: type)
                guard status == 200 else { throw BenchHTTPConnection.Failure("HTTP \(status): \(String(decoding: answer, as: UTF8.self))") }
            }
        }
        say(String(format: "  detect in-process   p50 %7.2f ms  p95 %7.2f ms", percentile(inProcess, 0.5),
                   percentile(inProcess, 0.95)))
        say(String(format: "  detect over HTTP    p50 %7.2f ms  p95 %7.2f ms   (extra at p50 %+.2f ms, at p95 %+.2f ms)",
                   percentile(overHTTP, 0.5), percentile(overHTTP, 0.95),
                   percentile(overHTTP, 0.5) - percentile(inProcess, 0.5),
                   percentile(overHTTP, 0.95) - percentile(inProcess, 0.95)))

        // Phase 2: the cameras without, then with, API load.
        let station = try Station(cfg)
        defer { station.stop() }
        Thread.sleep(forTimeInterval: min(10, window / 2))  // warm-up: engines, caches, replay files
        let quiet = station.framesPerSecond(over: window)
        let done = Atomic<Bool>(false)
        let ok = Atomic<Int>(0), busy = Atomic<Int>(0), failed = Atomic<Int>(0)
        let group = DispatchGroup()
        let port = station.port
        for _ in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let connection = try? BenchHTTPConnection(port: port) else { failed.add(1, ordering: .relaxed); return }
                while !done.load(ordering: .relaxed) {
                    switch (try? connection.request("POST", "/api/v1/detect", body: body, contentType: type))?.status {
                    case 200?: ok.add(1, ordering: .relaxed)
                    case 429?, 503?: busy.add(1, ordering: .relaxed); Thread.sleep(forTimeInterval: 0.005)
                    default: failed.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        Thread.sleep(forTimeInterval: 1)  // the clients' first requests are in
        let okBefore = ok.load(ordering: .relaxed)
        let loaded = station.framesPerSecond(over: window)
        let answered = Double(ok.load(ordering: .relaxed) - okBefore) / window
        done.store(true, ordering: .relaxed)
        group.wait()
        say(String(format: "  %d clients          %.1f images/s answered 200, %d answered 429/503 (queue full), %d failed",
                   clients, answered, busy.load(ordering: .relaxed), failed.load(ordering: .relaxed)))
        if cfg.cameras.isEmpty {
            say("  cameras             none in the config: no frames/s to compare")
        } else {
            say(String(format: "  camera frames/s     %.1f without API load, %.1f with it (%+.1f%%), %d camera(s)",
                       quiet, loaded, quiet > 0 ? (loaded - quiet) / quiet * 100 : 0, cfg.cameras.count))
        }
    }

    /// The pipeline with its HTTP listener, as `inspectd run` wires them (without signals and systemd).
    private final class Station {
        let pipeline: Pipeline
        let facade: StationFacade
        let server: APIServer
        let port: Int
        /// Camera frames handed to the audit writer so far.
        private let recorded: Counter

        private final class Counter: Sendable { let value = Atomic<Int>(0) }

        init(_ config: InspectdConfig) throws {
            let metrics = PipelineMetrics()
            let health = PipelineHealth(cameraDownLimit: config.metrics.cameraDownLimit, stallLimit: config.metrics.stallLimit)
            let pipeline = try Pipeline(config: config, metrics: metrics, health: health, logger: Logger(label: "bench"))
            let facade = StationFacade(metrics: metrics, health: health)
            facade.update(config: config, model: pipeline.model)
            facade.attach(pipeline)
            let recorded = Counter()
            pipeline.onRecorded { _ in recorded.value.add(1, ordering: .relaxed) }
            pipeline.start()
            let server = try APIServer(settings: .init(host: "127.0.0.1", port: 0, maxBody: config.http.maxBody),
                                       station: facade, logger: Logger(label: "bench"))
            self.pipeline = pipeline; self.facade = facade; self.recorded = recorded; self.server = server
            port = server.port
        }

        /// Camera frames recorded per second over the next `seconds`.
        func framesPerSecond(over seconds: Double) -> Double {
            let start = recorded.value.load(ordering: .relaxed), started = Date()
            Thread.sleep(forTimeInterval: seconds)
            return Double(recorded.value.load(ordering: .relaxed) - start) / Date().timeIntervalSince(started)
        }

        func stop() {
            server.shutdown()
            facade.stop()
            pipeline.stop(timeout: .seconds(10))
        }
    }

    /// Milliseconds of each of `count` runs of `body`, after `warmup` runs.
    private static func timed(_ count: Int, warmup: Int, _ body: () throws -> Void) throws -> [Double] {
        for _ in 0..<warmup { try body() }
        return try (0..<count).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
    }

    private static func defaultImage() -> String? {
        let shared = ProcessInfo.processInfo.environment["INSPECTD_SHARED"] ?? "../shared"
        let dir = shared + "/datasets/deeppcb/images/val"
        return (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasSuffix(".jpg") }.sorted().first
            .map { dir + "/" + $0 }
    }
}
