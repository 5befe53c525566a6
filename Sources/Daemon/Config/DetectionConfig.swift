import Foundation
import Yams

/// `detection`: confidence thresholds (static and adaptive), NMS, per-class box limits and line rules.
public struct DetectionConfig: Sendable, Equatable {
    /// Default confidence threshold for every class (`confidence`).
    public var confidence: Double
    /// Per-class settings by class name (`classes`).
    public var classes: [NamedValue<ClassRules>]
    /// Adaptive thresholds (`adaptive`).
    public var adaptive: Adaptive
    /// Non-maximum suppression (`nms`).
    public var nms: NMS
    /// Line rules evaluated per camera (`line_rules`).
    public var lineRules: [LineRuleConfig]
    /// How the model output is laid out (`output_layout`).
    public var outputLayout: OutputLayout
    /// Which classes a box may stand for (`labels`).
    public var labels: Labels

    /// `output_layout`: `auto` decides from the output's shape and the model's class count.
    public enum OutputLayout: String, Sendable, CaseIterable { case auto, ultralytics, yolov5 }
    /// `labels`: a box takes its best class only, or every class above the threshold.
    public enum Labels: String, Sendable, CaseIterable { case best, all }

    /// `classes.<name>`: a class's confidence and box limits (areas in source pixels², aspect = long side /
    /// short side, so ≥ 1 whichever way a box runs).
    public struct ClassRules: Sendable, Equatable {
        public var confidence: Double?
        public var minArea: Double?, maxArea: Double?
        public var minAspect: Double?, maxAspect: Double?
    }

    /// `adaptive`: threshold = clamp(percentile(window of OK-frame top scores) + margin, floor, ceiling).
    public struct Adaptive: Sendable, Equatable {
        public var enabled: Bool
        /// Classes that adapt, by name; nil = every class.
        public var classes: [NamedValue<Bool>]?
        /// Samples kept per class.
        public var window: Int
        /// Percentile of the window (0…100).
        public var percentile: Double
        /// Added to the percentile.
        public var margin: Double
        /// Lowest threshold; nil = the class's base threshold.
        public var floor: Double?
        /// Highest threshold.
        public var ceiling: Double
        /// Samples needed before the adaptive value replaces the base.
        public var minSamples: Int
        /// A class held at the ceiling this long raises a drift alarm.
        public var driftAfter: Duration
    }

    /// `nms`.
    public struct NMS: Sendable, Equatable {
        /// IoU above which the lower-scoring box is suppressed.
        public var iou: Double
        /// Suppress across classes too.
        public var classAgnostic: Bool
        /// Defects kept per frame at most.
        public var maxDetections: Int
        /// Drop a box lying at least this fraction inside a higher-scoring box of its class; nil = off.
        public var containment: Double?
    }

    static func read(_ m: ConfigMapping) -> DetectionConfig {
        let confidence = m.double("confidence", default: 0.25, in: 0...1)
        let classes: [NamedValue<ClassRules>] = m.section("classes") { c in
            c.keys.map { name in
                let line = c.value(name).flatMap { $0.node.mark?.line }
                let rules = c.section(name) { r in
                    let rules = ClassRules(confidence: r.double("confidence", in: 0...1),
                                           minArea: r.double("min_area", in: 0...1e9),
                                           maxArea: r.double("max_area", in: 0...1e9),
                                           minAspect: r.double("min_aspect", in: 1...1e6),
                                           maxAspect: r.double("max_aspect", in: 1...1e6))
                    if let lo = rules.minArea, let hi = rules.maxArea, lo > hi {
                        r.report("min_area", "is larger than max_area")
                    }
                    if let lo = rules.minAspect, let hi = rules.maxAspect, lo > hi {
                        r.report("min_aspect", "is larger than max_aspect")
                    }
                    return rules
                }
                return NamedValue(name: name, value: rules, path: c.path.key(name).description, line: line)
            }
        }
        let adaptive = m.section("adaptive") { a in
            let classes: [NamedValue<Bool>]? = a.has("classes") ? a.list("classes") { node, path in
                guard case .scalar(let s) = node, !s.string.isEmpty else {
                    a.reader.report(path, "expected a class name, got \(node.kindDescription)", node: node); return nil
                }
                return NamedValue(name: s.string, value: true, path: path.description, line: node.mark?.line)
            } : nil
            let v = Adaptive(enabled: a.bool("enabled", default: false), classes: classes,
                             window: a.int("window", default: 100, in: 10...100_000),
                             percentile: a.double("percentile", default: 90, in: 1...100),
                             margin: a.double("margin", default: 0.1, in: 0...1),
                             floor: a.double("floor", in: 0...1),
                             ceiling: a.double("ceiling", default: 0.9, in: 0...1),
                             minSamples: a.int("min_samples", default: 10, in: 1...100_000),
                             driftAfter: a.duration("drift_after", default: .seconds(600),
                                                    in: .seconds(1)...(.seconds(30 * 86400))))
            if let f = v.floor, f > v.ceiling { a.report("floor", "is above ceiling (\(v.ceiling))") }
            if v.minSamples > v.window { a.report("min_samples", "is larger than window (\(v.window))") }
            return v
        }
        let nms = m.section("nms") { n in
            NMS(iou: n.double("iou", default: 0.3, in: 0...1),
                classAgnostic: n.bool("class_agnostic", default: false),
                maxDetections: n.int("max_detections", default: 300, in: 1...100_000),
                containment: n.double("containment", in: 0.01...1))
        }
        let rules = LineRuleConfig.readList(m)
        return DetectionConfig(confidence: confidence, classes: classes, adaptive: adaptive, nms: nms, lineRules: rules,
                               outputLayout: m.choice("output_layout", default: .auto),
                               labels: m.choice("labels", default: .best))
    }
}

/// A line rule for MES (`line_rules[]`): raises an alarm with the rule's id and the evidence frames.
public struct LineRuleConfig: Sendable, Equatable {
    /// Rule id, carried in the alarm.
    public var id: String
    /// What the rule watches.
    public var kind: Kind
    /// Key path (for class-name checks).
    public var path: String
    /// Line of the rule.
    public var line: Int?

    /// The two rule kinds.
    public enum Kind: Sendable, Equatable {
        /// The same class (each class on its own, when nil) on `frames` consecutive inspected frames.
        case consecutiveClass(className: String?, frames: Int)
        /// NG rate above `percent` % over the last `frames` frames (`ng_percent`).
        case ngRate(percent: Double, frames: Int)
    }

    /// Reads `line_rules` of `m`, reporting duplicate ids.
    static func readList(_ m: ConfigMapping) -> [LineRuleConfig] {
        let rules = m.list("line_rules") { read($0, at: $1, reader: m.reader) }
        var seen = Set<String>()
        for r in rules where !seen.insert(r.id).inserted {
            m.reader.problems(append: ConfigProblem(path: r.path + ".id", message: "duplicate rule id '\(r.id)'",
                                                     line: r.line))
        }
        return rules
    }

    static func read(_ node: Node, at path: ConfigPath, reader: ConfigReader) -> LineRuleConfig? {
        reader.mapping(node, at: path).read { m in
            let id = m.requiredString("id")
            guard let type = m.requiredString("kind") else { return nil }
            let kind: Kind
            switch type {
            case "consecutive_class":
                kind = .consecutiveClass(className: m.string("class"),
                                         frames: m.int("frames", default: 3, in: 1...10_000))
            case "ng_rate":
                let frames = m.int("frames", default: 100, in: 1...1_000_000)
                guard m.has("ng_percent") else { m.report("ng_percent", "is required for an ng_rate rule"); return nil }
                kind = .ngRate(percent: m.double("ng_percent", default: 100, in: 0...100), frames: frames)
            default:
                m.report("kind", "'\(type)' is not one of consecutive_class, ng_rate"); return nil
            }
            guard let id else { return nil }
            return LineRuleConfig(id: id, kind: kind, path: path.description, line: node.mark?.line)
        }
    }
}
