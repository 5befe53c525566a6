import Detection
import Foundation
import Yams

/// `detection`: confidence thresholds (static and adaptive), NMS, per-class box limits and line rules, read
/// straight into Detection's own model (`DetectionSettings`, `BoxFilter`, `LineRule`): the one description of
/// these settings, which the daemon, `detect` and `eval` share. What the daemon adds is where each class name
/// was written, so a name the model does not have is reported at its key and line.
public struct DetectionConfig: Sendable, Equatable {
    /// Thresholds (`confidence`, `classes.<name>.confidence`), `adaptive`, `nms`, `output_layout`, `labels`.
    public var settings: DetectionSettings
    /// Box limits by class name (`classes.<name>.min_area`, `max_area`, `min_aspect`, `max_aspect`).
    public var boxFilters: [String: BoxFilter]
    /// Line rules evaluated per camera (`line_rules`), with where each was written.
    public var lineRules: [NamedValue<LineRule>]
    /// Every class name written under `classes` and `adaptive.classes`, with its key, for the model check.
    public var classKeys: [NamedValue<Bool>]

    static func read(_ m: ConfigMapping) -> DetectionConfig {
        let confidence = m.double("confidence", default: 0.25, in: 0...1)
        var perClass: [String: Float] = [:]
        var boxFilters: [String: BoxFilter] = [:]
        var classKeys: [NamedValue<Bool>] = []
        m.section("classes") { c in
            for name in c.keys {
                let line = c.value(name).flatMap { $0.node.mark?.line }
                classKeys.append(NamedValue(name: name, value: true, path: c.path.key(name).description, line: line))
                c.section(name) { r in
                    if let v = r.double("confidence", in: 0...1) { perClass[name] = Float(v) }
                    let minArea = r.double("min_area", in: 0...1e9), maxArea = r.double("max_area", in: 0...1e9)
                    let minAspect = r.double("min_aspect", in: 1...1e6), maxAspect = r.double("max_aspect", in: 1...1e6)
                    if let lo = minArea, let hi = maxArea, lo > hi { r.report("min_area", "is larger than max_area") }
                    if let lo = minAspect, let hi = maxAspect, lo > hi { r.report("min_aspect", "is larger than max_aspect") }
                    if minArea != nil || maxArea != nil || minAspect != nil || maxAspect != nil {
                        boxFilters[name] = BoxFilter(minArea: minArea.map(Float.init), maxArea: maxArea.map(Float.init),
                                                     minAspect: minAspect.map(Float.init),
                                                     maxAspect: maxAspect.map(Float.init))
                    }
                }
            }
        }
        let adaptive = m.section("adaptive") { a in
            let classes: [NamedValue<Bool>]? = a.has("classes") ? a.list("classes") { node, path in
                guard case .scalar(let s) = node, !s.string.isEmpty else {
                    a.reader.report(path, "expected a class name, got \(node.kindDescription)", node: node); return nil
                }
                return NamedValue(name: s.string, value: true, path: path.description, line: node.mark?.line)
            } : nil
            classKeys += classes ?? []
            let window = a.int("window", default: 100, in: 10...100_000)
            let minSamples = a.int("min_samples", default: 10, in: 1...100_000)
            let floor = a.double("floor", in: 0...1), ceiling = a.double("ceiling", default: 0.9, in: 0...1)
            if let f = floor, f > ceiling { a.report("floor", "is above ceiling (\(ceiling))") }
            if minSamples > window { a.report("min_samples", "is larger than window (\(window))") }
            let driftAfter = a.duration("drift_after", default: .seconds(600), in: .seconds(1)...(.seconds(30 * 86400)))
            return AdaptiveSettings(enabled: a.bool("enabled", default: false), classes: classes?.map(\.name),
                                    window: window, minSamples: minSamples,
                                    percentile: a.double("percentile", default: 90, in: 1...100),
                                    margin: Float(a.double("margin", default: 0.1, in: 0...1)),
                                    floor: floor.map(Float.init), ceiling: Float(ceiling),
                                    driftAfterSeconds: driftAfter.seconds)
        }
        let nms = m.section("nms") { n in
            NMSSettings(iou: n.double("iou", default: 0.3, in: 0...1),
                        classAgnostic: n.bool("class_agnostic", default: false),
                        maxDetections: n.int("max_detections", default: 300, in: 1...100_000),
                        containment: n.double("containment", in: 0.01...1).map(Float.init))
        }
        let settings = DetectionSettings(outputLayout: m.choice("output_layout", default: .auto),
                                         labels: m.choice("labels", default: .best),
                                         thresholds: ThresholdSettings(base: Float(confidence), perClass: perClass),
                                         adaptive: adaptive, nms: nms)
        return DetectionConfig(settings: settings, boxFilters: boxFilters, lineRules: readLineRules(m),
                               classKeys: classKeys)
    }

    /// Reads `line_rules` of `m` (under `detection` or a camera), reporting duplicate ids.
    static func readLineRules(_ m: ConfigMapping) -> [NamedValue<LineRule>] {
        let rules = m.list("line_rules") { readLineRule($0, at: $1, reader: m.reader) }
        var seen = Set<String>()
        for r in rules where !seen.insert(r.name).inserted {
            m.reader.problems(append: ConfigProblem(path: r.path + ".id", message: "duplicate rule id '\(r.name)'",
                                                     line: r.line))
        }
        return rules
    }

    /// A line rule for MES (`line_rules[]`): raises an alarm with the rule's id and the evidence frames.
    private static func readLineRule(_ node: Node, at path: ConfigPath, reader: ConfigReader) -> NamedValue<LineRule>? {
        reader.mapping(node, at: path).read { m in
            let id = m.requiredString("id")
            guard let type = m.requiredString("kind") else { return nil }
            let rule: LineRule
            switch type {
            case "consecutive_class":
                rule = LineRule(id: id ?? "", kind: .consecutiveClass, className: m.string("class"),
                                frames: m.int("frames", default: 3, in: 1...10_000))
            case "ng_rate":
                let frames = m.int("frames", default: 100, in: 1...1_000_000)
                guard m.has("ng_percent") else { m.report("ng_percent", "is required for an ng_rate rule"); return nil }
                rule = LineRule(id: id ?? "", kind: .ngRate, frames: frames,
                                ngPercent: m.double("ng_percent", default: 100, in: 0...100))
            default:
                m.report("kind", "'\(type)' is not one of consecutive_class, ng_rate"); return nil
            }
            guard let id else { return nil }
            return NamedValue(name: id, value: rule, path: path.description, line: node.mark?.line)
        }
    }
}
