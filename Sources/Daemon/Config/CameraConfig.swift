import Detection
import Foundation
import Yams

/// One camera (`cameras[]`): where its frames come from, how its queue behaves under overload, where on the
/// frame to inspect, and its threshold overrides.
public struct CameraConfig: Sendable, Equatable {
    /// Camera id: unique, used in topics, logs and the audit store.
    public var id: String
    /// Where frames come from.
    public var source: Source
    /// Frames that may wait for a worker (`queue_size`).
    public var queueSize: Int
    /// What capture does when the queue is full (`overload`).
    public var overload: OverloadPolicy
    /// Where on the frame detections count (`roi`): a detection counts when its box centre is inside `polygon`
    /// (nil = whole frame) and outside every mask; points in source-frame pixels.
    public var roi: RegionSettings
    /// Confidence overrides for this camera (`thresholds`).
    public var thresholds: ThresholdOverrides
    /// Line rules for this camera; nil = `detection.line_rules` (`line_rules`).
    public var lineRules: [NamedValue<LineRule>]?
    /// Golden-board inspection (`reference`): the known-good image each frame is aligned to and composed with,
    /// for models that declare a composed input. nil = none.
    public var reference: Reference?
    /// When a frame is inspected (`trigger`): every frame (free run, the default) or one per trigger.
    public var trigger: Trigger = .freeRun

    /// `trigger`: part-synchronous inspection. With `mode: software` the camera keeps streaming but a frame is
    /// inspected only for a trigger (HTTP, MQTT or the PLC): the first frame captured at or after the trigger's
    /// arrival plus `delay`; a trigger with no such frame within `timeout` is answered (and recorded) as an
    /// error, and at most `queue` triggers wait, in order.
    public struct Trigger: Sendable, Equatable {
        /// `free_run` or `software`.
        public enum Mode: String, Sendable, CaseIterable { case freeRun = "free_run", software }
        public var mode: Mode
        /// Settling time after the trigger before a frame may be taken (`delay`).
        public var delay: Duration
        /// No frame inspected within this time after the trigger (plus `delay`): error result (`timeout`).
        public var timeout: Duration
        /// Triggers that may wait for a frame (`queue`); one more is refused with an error result.
        public var queue: Int
        /// Free run: every frame is inspected.
        public static let freeRun = Trigger(mode: .freeRun, delay: .zero, timeout: .seconds(2), queue: 8)
        /// True for `software`.
        public var isTriggered: Bool { mode == .software }
    }

    /// `reference`: the golden image of the product and how far a frame may be off it.
    public struct Reference: Sendable, Equatable {
        /// The golden image (`image`, JPEG or PNG, the camera's frame size). nil only for a synthetic camera,
        /// which paints its own clean board.
        public var image: String?
        /// Largest shift accepted, pixels (`align.max_shift`).
        public var maxShift: Double
        /// Largest rotation accepted, degrees (`align.max_rotation`).
        public var maxRotation: Double
        /// Lowest match score (normalised correlation after alignment, 0…1) accepted as the same product
        /// (`align.min_match`).
        public var minMatch: Double
        /// A golden image per product (`recipes`, name → image), chosen by the `recipe` a trigger names; `image`
        /// (or the synthetic board) then serves triggers that name none. Triggered cameras only.
        public var recipes: [String: String] = [:]
    }

    /// What capture does with a new frame when the camera's queue is full.
    public enum OverloadPolicy: String, Sendable, CaseIterable {
        /// Drop the oldest queued frame (live cameras: the newest frame matters most). Every drop is counted.
        case dropOldest = "drop_oldest"
        /// Wait for room (replay and triggered inspection: every frame must be judged).
        case block
    }

    /// A frame source and its options (`source.type` chooses the case).
    public enum Source: Sendable, Equatable {
        /// A V4L2 camera.
        case v4l2(V4L2)
        /// Stored images.
        case replay(Replay)
        /// Deterministic PCB-like frames with injected defects (demo and load tests).
        case synthetic(Synthetic)

        /// The `type` value.
        public var type: String {
            switch self { case .v4l2: "v4l2"; case .replay: "replay"; case .synthetic: "synthetic" }
        }
    }

    /// Pixel formats a V4L2 camera may be asked for, in preference order.
    public enum PixelFormatChoice: String, Sendable, CaseIterable { case mjpeg, yuyv, grey, nv12 }

    /// `source` with `type: v4l2`.
    public struct V4L2: Sendable, Equatable {
        /// Device node or stable link (`/dev/v4l/by-id/...`).
        public var device: String
        /// Formats to try, first preferred.
        public var formats: [PixelFormatChoice]
        /// Requested size and rate (the driver may adjust; what it chose is logged).
        public var width: Int, height: Int, fps: Double
        /// mmap buffers to request.
        public var buffers: Int
        /// Fixed camera controls; nil leaves the camera's own setting.
        public var exposure: Int?, gain: Int?, whiteBalance: Int?, focus: Int?
        /// No frame for this long → camera down, reopen with backoff.
        public var stallTimeout: Duration
    }

    /// `source` with `type: replay`: exactly one of `path` (a directory or one image), `glob` or `list`.
    public struct Replay: Sendable, Equatable {
        /// What to replay.
        public enum Files: Sendable, Equatable {
            /// A directory (its images in name order) or a single image.
            case path(String)
            /// A glob pattern (`/data/*.jpg`), matches in name order.
            case glob(String)
            /// A text file with one image path per line.
            case list(String)
        }
        /// What to replay.
        public var files: Files
        /// Frames per second; 0 = as fast as the pipeline takes them.
        public var fps: Double
        /// Start again after the last image.
        public var loop: Bool
    }

    /// `source` with `type: synthetic`.
    public struct Synthetic: Sendable, Equatable {
        /// Frame size in pixels.
        public var width: Int, height: Int
        /// Frames per second; 0 = as fast as the pipeline takes them.
        public var fps: Double
        /// Defects injected into each frame (drawn uniformly from the range).
        public var defectsPerFrame: ClosedRange<Int>
        /// Random seed: the same seed gives the same frames.
        public var seed: UInt64
        /// Share of frames with defects; the rest are good parts (`defective_fraction`).
        public var defectiveFraction: Double
        /// With a golden board (`reference` without `image`): how far a part may lie off it, pixels (`shift`)
        /// and degrees (`rotation`).
        public var shift: Double, rotation: Double
    }

    /// Per-camera confidence overrides.
    public struct ThresholdOverrides: Sendable, Equatable {
        /// Default confidence for this camera; nil = `detection.confidence`.
        public var confidence: Double?
        /// Confidence per class name.
        public var classes: [NamedValue<Double>]
    }
}

/// A value keyed by a class name in the config, with the key path it came from (class names can only be
/// checked once the model's names are known).
public struct NamedValue<Value: Sendable & Equatable>: Sendable, Equatable {
    /// Class name as written.
    public var name: String
    /// The value.
    public var value: Value
    /// Key path of the entry, for messages.
    public var path: String
    /// Line of the entry.
    public var line: Int?
}

extension CameraConfig {
    /// Reads `cameras[i]`.
    static func read(_ node: Node, at path: ConfigPath, reader: ConfigReader) -> CameraConfig? {
        reader.mapping(node, at: path).read { m in
            let id = m.requiredSafeName("id")
            let source = m.section("source") { readSource($0) }
            let queueSize = m.int("queue_size", default: 4, in: 1...1024)
            let defaultPolicy: OverloadPolicy = { if case .replay? = source { return .block }; return .dropOldest }()
            let overload = m.choice("overload", default: defaultPolicy)
            let roi = m.section("roi") { readROI($0) }
            let thresholds = m.section("thresholds") { t in
                ThresholdOverrides(confidence: t.double("confidence", in: 0...1),
                                   classes: readClassValues(t, "classes", in: 0...1))
            }
            let rules: [NamedValue<LineRule>]? = m.has("line_rules") ? DetectionConfig.readLineRules(m) : nil
            let reference: Reference? = m.has("reference") ? m.section("reference") { r in
                let image: String? = r.has("image") ? r.path("image", .readableFile) : nil
                let recipes: [String: String] = r.has("recipes") ? r.section("recipes") { c in
                    if c.keys.count > 32 { c.reportHere("at most 32 recipes per camera (\(c.keys.count) given)") }
                    var out: [String: String] = [:]
                    for name in c.keys {
                        // As a trigger's recipe field must be, or no trigger could ever name it.
                        guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                            _ = c.string(name)  // read, so it is not also reported as an unknown key
                            c.report(name, "a recipe name is 1…64 printable ASCII characters, as a trigger's recipe")
                            continue
                        }
                        if let path = c.path(name, .readableFile) { out[name] = path }
                    }
                    return out
                } : [:]
                if !r.has("image"), !r.has("recipes"), let source, source.type != "synthetic" {
                    r.report("image", "is required (only a synthetic camera paints its own golden board), or give recipes")
                }
                let align = r.section("align") { a in
                    (a.double("max_shift", default: 20, in: 0...1000), a.double("max_rotation", default: 2, in: 0...10),
                     a.double("min_match", default: 0.5, in: 0...1))
                }
                return Reference(image: image, maxShift: align.0, maxRotation: align.1, minMatch: align.2, recipes: recipes)
            } : nil
            let trigger: Trigger = m.has("trigger") ? m.section("trigger") { t in
                Trigger(mode: t.choice("mode", default: .freeRun),
                        delay: t.duration("delay", default: .zero, in: .zero...(.seconds(10))),
                        timeout: t.duration("timeout", default: .seconds(2), in: .milliseconds(10)...(.seconds(600))),
                        queue: t.int("queue", default: 8, in: 1...1024))
            } : .freeRun
            if let reference, !reference.recipes.isEmpty, !trigger.isTriggered {
                m.report("reference", "recipes choose a golden image per trigger: the camera needs trigger.mode software")
            }
            // A triggered frame must not be dropped for a newer one: it is the part's only inspection.
            let overloadPolicy = trigger.isTriggered && !m.has("overload") ? .block : overload
            guard let id, let source else { return nil }
            return CameraConfig(id: id, source: source, queueSize: queueSize, overload: overloadPolicy, roi: roi,
                                thresholds: thresholds, lineRules: rules, reference: reference, trigger: trigger)
        }
    }

    private static func readSource(_ m: ConfigMapping) -> Source? {
        guard m.node != nil else { m.reportHere("is required"); return nil }
        guard let type = m.requiredString("type") else { return nil }
        switch type {
        case "v4l2":
            let formats: [PixelFormatChoice] = m.has("formats") ? m.list("formats") { node, path in
                guard let raw = node.scalar?.string, let f = PixelFormatChoice(rawValue: raw) else {
                    m.reader.report(path, "\(node.kindDescription) is not one of "
                                    + PixelFormatChoice.allCases.map(\.rawValue).joined(separator: ", "), node: node)
                    return nil
                }
                return f
            } : [.mjpeg, .yuyv]
            if m.has("formats") && formats.isEmpty { m.report("formats", "must list at least one format") }
            let controls = m.section("controls") { c in
                (c.int("exposure", in: 1...1_000_000), c.int("gain", in: 0...100_000),
                 c.int("white_balance", in: 1000...15000), c.int("focus", in: 0...100_000))
            }
            let device = m.has("device") ? m.path("device", .device) : { m.report("device", "is required"); return nil }()
            let v = V4L2(device: device ?? "", formats: formats,
                         width: m.int("width", default: 1280, in: 16...16384),
                         height: m.int("height", default: 720, in: 16...16384),
                         fps: m.double("fps", default: 30, in: 0.1...1000),
                         buffers: m.int("buffers", default: 4, in: 2...32),
                         exposure: controls.0, gain: controls.1, whiteBalance: controls.2, focus: controls.3,
                         stallTimeout: m.duration("stall_timeout", default: .seconds(2),
                                                  in: .milliseconds(100)...(.seconds(600))))
            return device == nil ? nil : .v4l2(v)
        case "replay":
            let given = ["path", "glob", "list"].filter { m.has($0) }
            var files: Replay.Files?
            if given.count != 1 {
                m.reportHere(given.isEmpty ? "needs one of path, glob or list"
                             : "give only one of path, glob or list (got \(given.joined(separator: ", ")))")
                given.forEach { _ = m.value($0) }
            } else if given[0] == "path" {
                if let p = m.path("path", .fileOrDirectory) { files = .path(p) }
            } else if given[0] == "glob", let g = m.string("glob") {
                let pattern = m.reader.resolvePath(g)
                if globMatches(pattern).isEmpty { m.report("glob", "\(pattern) matches no file") }
                files = .glob(pattern)
            } else if let l = m.path("list", .readableFile) {
                files = .list(l)
            }
            let fps = m.double("fps", default: 0, in: 0...1000)
            let loop = m.bool("loop", default: false)
            return files.map { .replay(Replay(files: $0, fps: fps, loop: loop)) }
        case "synthetic":
            var defects = 3...6
            if let v = m.value("defects_per_frame") {
                let range: [Int]? = {
                    if let n = v.node.exactInt { return [n, n] }
                    if case .sequence(let s) = v.node, s.count == 2, let a = s[0].exactInt, let b = s[1].exactInt {
                        return [a, b]
                    }
                    return nil
                }()
                if let r = range, 0 <= r[0], r[0] <= r[1], r[1] <= 30 { defects = r[0]...r[1] } else {
                    m.report("defects_per_frame", "expected a count or [min, max] within 0…30, got \(v.node.kindDescription)")
                }
            }
            return .synthetic(Synthetic(width: m.int("width", default: 640, in: 128...8192),
                                        height: m.int("height", default: 640, in: 128...8192),
                                        fps: m.double("fps", default: 2, in: 0...1000),
                                        defectsPerFrame: defects,
                                        seed: UInt64(m.int("seed", default: 1, in: 0...Int.max)),
                                        defectiveFraction: m.double("defective_fraction", default: 1, in: 0...1),
                                        shift: m.double("shift", default: 0, in: 0...100),
                                        rotation: m.double("rotation", default: 0, in: 0...10)))
        default:
            m.report("type", "'\(type)' is not one of v4l2, replay, synthetic")
            return nil
        }
    }

    private static func readROI(_ m: ConfigMapping) -> RegionSettings {
        var polygon: [[Float]]?
        if let v = m.value("polygon") { polygon = readPolygon(v.node, at: v.path, reader: m.reader) }
        let masks = m.list("masks") { readPolygon($0, at: $1, reader: m.reader) }
        return RegionSettings(polygon: polygon, masks: masks)
    }

    /// Reads `[[x, y], ...]`: non-negative coordinates, then Detection's polygon check (at least 3 points, no
    /// crossing edges, some area), reported at the key.
    static func readPolygon(_ node: Node, at path: ConfigPath, reader: ConfigReader) -> [[Float]]? {
        let items = reader.sequence(node, at: path)
        var points: [[Float]] = []
        var bad = false
        for (n, p) in items {
            guard case .sequence(let xy) = n, xy.count == 2, let x = xy[0].number, let y = xy[1].number else {
                reader.report(p, "expected a point [x, y], got \(n.kindDescription)", node: n); bad = true; continue
            }
            if x < 0 || y < 0 { reader.report(p, "coordinates must not be negative", node: n); bad = true }
            points.append([Float(x), Float(y)])
        }
        if bad { return nil }
        guard case .sequence = node else { return nil }
        if let problem = Polygon.problems(points: points, key: path.description).first {
            reader.report(path, problem.message, node: node); return nil
        }
        return points
    }
}

/// Reads `key: {class_name: number, ...}` keeping each entry's path for later checks against model names.
func readClassValues(_ m: ConfigMapping, _ key: String, in range: ClosedRange<Double>) -> [NamedValue<Double>] {
    m.section(key) { c in
        c.keys.compactMap { name in
            let line = c.value(name).flatMap { $0.node.mark?.line }
            return c.double(name, in: range).map { NamedValue(name: name, value: $0, path: c.path.key(name).description,
                                                              line: line) }
        }
    }
}

/// Paths matching a glob pattern, sorted by name (the replay order).
func globMatches(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard glob(pattern, 0, nil, &g) == 0 else { return [] }
    return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
}
