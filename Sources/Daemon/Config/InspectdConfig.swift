import Detection
import Engine
import Foundation
import Logging
import Yams

/// The whole daemon configuration: one YAML file (Configs/inspectd.yaml documents every key and default),
/// strictly validated by `InspectdConfig.load(path:)`.
public struct InspectdConfig: Sendable, Equatable {
    /// The file it was read from (absolute).
    public var file: String
    public var site: SiteConfig
    public var model: ModelConfig
    public var workers: WorkersConfig
    public var cameras: [CameraConfig]
    public var detection: DetectionConfig
    public var mqtt: MQTTConfig
    public var audit: AuditConfig
    public var snapshots: SnapshotConfig
    public var metrics: MetricsConfig
    /// The HTTP listener (API, metrics, health).
    public var http: HTTPConfig
    /// SIGTERM/SIGINT: frames in flight are finished and the database flushed within this time.
    public var shutdownTimeout: Duration
    /// How often stats go to `{prefix}/stats` and the log.
    public var statsInterval: Duration
    /// Lowest level logged.
    public var logLevel: Logger.Level
    /// SHA-256 of the file's bytes: the config revision recorded with every inspection.
    public var revision: String
    /// The PLC connection (`plc`).
    public var plc: PLCConfig = .none
    /// Accepted but to be changed (deprecated keys), one sentence each: logged at start and on reload.
    public var warnings: [String] = []

    /// Reads and validates the file. Throws `ConfigError` listing every problem found.
    /// Class names are checked separately, once the model's names are known (`problems(classNames:)`).
    public static func load(path: String) throws -> InspectdConfig {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: absolute)) } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(path: "", message: "cannot read the file: "
                                                                   + ((error as NSError).localizedFailureReason ?? error.localizedDescription))])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, problems: [ConfigProblem(path: "", message: "the file is not UTF-8 text")])
        }
        return try parse(yaml: text, file: path, baseDirectory: (absolute as NSString).deletingLastPathComponent,
                         revision: ContentHash.sha256Hex(data))
    }

    /// Reads and validates YAML text; relative paths are resolved against `baseDirectory`.
    public static func parse(yaml: String, file: String, baseDirectory: String, revision: String = "")
        throws -> InspectdConfig {
        let (config, problems) = decode(yaml: yaml, file: file, baseDirectory: baseDirectory, revision: revision)
        guard let config, problems.isEmpty else { throw ConfigError(file: file, problems: problems) }
        return config
    }

    /// Reads what it can and lists every problem (the config is nil when a required part is missing).
    static func decode(yaml: String, file: String, baseDirectory: String, revision: String)
        -> (InspectdConfig?, [ConfigProblem]) {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            return (nil, [yamlSyntaxProblem(error)])
        }
        let reader = ConfigReader(baseDirectory: baseDirectory)
        if root == nil { reader.report(.root, "the file is empty") }
        let config: InspectdConfig? = reader.mapping(root, at: .root).read { m in
            let site = m.section("site") { s -> SiteConfig? in
                let line = s.requiredSafeName("line"), station = s.requiredSafeName("station")
                guard let line, let station else { return nil }
                return SiteConfig(line: line, station: station)
            }
            let model = m.section("model") { ModelConfig.read($0) }
            let workers = m.section("workers") { w in
                WorkersConfig(count: w.int("count", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...256),
                              threadsPerWorker: w.int("threads_per_worker", default: 1, in: 1...64))
            }
            if !m.has("cameras") { m.report("cameras", "is required (at least one camera, or [] with http on)") }
            let cameras = m.list("cameras") { CameraConfig.read($0, at: $1, reader: reader) }
            if cameras.count > maxCameras {
                m.report("cameras", "\(cameras.count) cameras; one station takes at most \(maxCameras)")
            }
            var seen: [String: Int] = [:]
            for (i, c) in cameras.enumerated() {
                if let first = seen[c.id] {
                    reader.report(ConfigPath.root.key("cameras").index(i).key("id"),
                                  "'\(c.id)' is already the id of cameras[\(first)]")
                }
                seen[c.id] = seen[c.id] ?? i
            }
            let detection = m.section("detection") { DetectionConfig.read($0) }
            let mqtt = m.section("mqtt") { MQTTConfig.read($0, site: site) }
            let audit = m.section("audit") { AuditConfig.read($0) }
            let snapshots = m.section("snapshots") { SnapshotConfig.read($0) }
            let metrics = m.section("metrics") { MetricsConfig.read($0) }
            let http = m.section("http") { HTTPConfig.read($0, metrics: metrics, reader: reader) }
            let plc = m.section("plc") { PLCConfig.read($0) }
            if plc.modbus != nil && !cameras.contains(where: { $0.trigger.isTriggered }) {
                reader.report(ConfigPath.root.key("plc").key("modbus"),
                              "no camera has trigger.mode software: the PLC would have nothing to trigger")
            }
            let shutdownTimeout = m.duration("shutdown_timeout", default: .seconds(10),
                                             in: .seconds(1)...(.seconds(600)))
            let statsInterval = m.duration("stats_interval", default: .seconds(60), in: .seconds(1)...(.seconds(86400)))
            let level: LogLevel = m.choice("log_level", default: .info)
            if m.has("cameras") && cameras.isEmpty && !http.enabled {
                m.report("cameras", "is empty and http is off: nothing would be inspected (cameras: [] is a pure "
                         + "inspection server, which needs http)")
            }
            guard let site, let model, !cameras.isEmpty || http.enabled else { return nil }
            return InspectdConfig(file: file, site: site, model: model, workers: workers, cameras: cameras,
                                  detection: detection, mqtt: mqtt, audit: audit, snapshots: snapshots,
                                  metrics: metrics, http: http, shutdownTimeout: shutdownTimeout,
                                  statsInterval: statsInterval, logLevel: level.level, revision: revision,
                                  plc: plc, warnings: reader.warnings)
        }
        var problems = reader.problems.enumerated().sorted { a, b in
            (a.element.line ?? 0, a.offset) < (b.element.line ?? 0, b.offset)
        }.map(\.element)
        if config == nil && problems.isEmpty { problems.append(ConfigProblem(path: "", message: "incomplete")) }
        return (config, problems)
    }

    /// Cameras one station takes at most: each has its own capture thread and frame queue.
    static let maxCameras = 64

    /// Problems that need the model's class names: unknown class names in thresholds, class rules and line
    /// rules. Empty when every name is one of `classNames`.
    public func problems(classNames: [String]) -> [ConfigProblem] {
        let known = Set(classNames)
        var problems: [ConfigProblem] = []
        func check(_ name: String, _ path: String, _ line: Int?) {
            guard !known.contains(name) else { return }
            let close = classNames.min { editDistance(name, $0) < editDistance(name, $1) }
                .flatMap { editDistance(name, $0) <= max(1, $0.count / 3) ? " (did you mean '\($0)'?)" : nil } ?? ""
            problems.append(ConfigProblem(path: path, message: "'\(name)' is not a class of the model\(close); "
                                          + "its classes are \(classNames.joined(separator: ", "))", line: line))
        }
        for c in detection.classKeys { check(c.name, c.path, c.line) }
        for camera in cameras { for c in camera.thresholds.classes { check(c.name, c.path, c.line) } }
        for rule in detection.lineRules + cameras.flatMap({ $0.lineRules ?? [] }) {
            if let name = rule.value.className { check(name, rule.path + ".class", rule.line) }
        }
        return problems
    }

    private static func yamlSyntaxProblem(_ error: Error) -> ConfigProblem {
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _)?, .parser(_, let problem, let mark, _)?,
             .composer(_, let problem, let mark, _)?:
            return ConfigProblem(path: "", message: "YAML syntax: \(problem)", line: mark.line)
        case .duplicatedKeysInMapping(let keys, let context)?:
            return ConfigProblem(path: "", message: "duplicate key \(keys.map { "'\($0)'" }.joined(separator: ", "))",
                                 line: context.mark.line)
        default:
            return ConfigProblem(path: "", message: "YAML syntax: \(error)")
        }
    }

    /// `log_level` values.
    enum LogLevel: String, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
        var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
    }
}

/// `site`: where this station is; both end up in topics and payloads.
public struct SiteConfig: Sendable, Equatable {
    public var line: String
    public var station: String
}

/// `workers`: the inference pool.
public struct WorkersConfig: Sendable, Equatable {
    /// Inference workers, each with its own engine session (default: one per CPU core).
    public var count: Int
    /// Threads inside one inference (latency), per worker.
    public var threadsPerWorker: Int
}

/// `model`: the detector.
public struct ModelConfig: Sendable, Equatable {
    /// ONNX file (Ultralytics export, FP32 or INT8 QDQ).
    public var path: String
    /// Input size override as [height, width]; nil = the model's own.
    public var inputSize: [Int]?

    static func read(_ m: ConfigMapping) -> ModelConfig? {
        guard m.node != nil else { m.reportHere("is required"); return nil }
        let path = m.has("path") ? m.path("path", .readableFile) : { m.report("path", "is required"); return nil }()
        var size: [Int]?
        if let v = m.value("input_size") {
            if let side = v.node.exactInt { size = [side, side] }
            else if case .sequence(let s) = v.node, s.count == 2, let w = s[0].exactInt, let h = s[1].exactInt {
                size = [h, w]
            } else {
                m.report("input_size", "expected a size like 640 or [width, height], got \(v.node.kindDescription)")
            }
            if let s = size, s.contains(where: { $0 < 32 || $0 > 4096 || $0 % 32 != 0 }) {
                m.report("input_size", "sides must be multiples of 32 between 32 and 4096"); size = nil
            }
        }
        return path.map { ModelConfig(path: $0, inputSize: size) }
    }
}
