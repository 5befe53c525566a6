/// Model-wide post-processing settings: the `detection:` section of the daemon's YAML config.
///
/// The same values drive the daemon, `inspectd detect` and `inspectd eval` (which pass their own
/// confidence and IoU). The daemon's config reader (Daemon's `DetectionConfig`) fills it from the YAML;
/// problem keys below are spelled as there.
public struct DetectionSettings: Sendable, Equatable {
    /// How the model's output tensor is laid out (`detection.output_layout`); `auto` decides from shape.
    public var outputLayout: OutputLayoutChoice
    /// Whether a candidate box takes only its best class (`best`, the daemon's default) or every class
    /// above the pre-filter (`all`, Ultralytics' validation setting; raises mAP slightly).
    public var labels: LabelMode
    /// Static confidence thresholds (`detection.confidence`, `detection.classes.<name>.confidence`).
    public var thresholds: ThresholdSettings
    /// Adaptive thresholds (`detection.adaptive`).
    public var adaptive: AdaptiveSettings
    /// Non-maximum suppression (`detection.nms`).
    public var nms: NMSSettings

    /// Defaults from the product brief.
    public init(outputLayout: OutputLayoutChoice = .auto, labels: LabelMode = .best,
                thresholds: ThresholdSettings = .init(), adaptive: AdaptiveSettings = .init(),
                nms: NMSSettings = .init()) {
        self.outputLayout = outputLayout; self.labels = labels; self.thresholds = thresholds
        self.adaptive = adaptive; self.nms = nms
    }

    /// Every problem in these settings, keys prefixed with `prefix` (default `detection`).
    public func validate(classNames: [String], prefix: String = "detection") -> [SettingsProblem] {
        var list = ProblemList()
        list.probability(thresholds.base, "\(prefix).confidence")
        for name in thresholds.perClass.keys.sorted() {
            let key = "\(prefix).classes.\(name).confidence"
            list.knownClass(name, classNames, key)
            list.probability(thresholds.perClass[name] ?? 0, key)
        }
        list.problems += adaptive.validate(classNames: classNames, prefix: "\(prefix).adaptive")
        if adaptive.enabled && adaptive.floor == nil {
            // The floor is the base threshold: above the ceiling the class could never adapt.
            for (c, name) in classNames.enumerated() where adaptive.applies(to: name) {
                let threshold = baseThresholds(classNames: classNames)[c]
                if threshold > adaptive.ceiling {
                    let key = thresholds.perClass[name] != nil ? "classes.\(name).confidence" : "confidence"
                    list.add("\(prefix).\(key)", "is the floor of adaptive class '\(name)' and must not exceed "
                        + "adaptive.ceiling (\(adaptive.ceiling)), got \(threshold)")
                }
            }
        }
        list.problems += nms.validate(prefix: "\(prefix).nms")
        return list.problems
    }

    /// The base threshold of each class, by class id.
    public func baseThresholds(classNames: [String]) -> [Float] {
        classNames.map { thresholds.perClass[$0] ?? thresholds.base }
    }

    /// The lowest score each class could ever need: candidates below it are dropped while decoding.
    /// For an adaptive class it is `floor - margin`, so that the scores the adaptive window needs
    /// (those that could lift the threshold above its floor) are still seen.
    public func preFilterThresholds(classNames: [String]) -> [Float] {
        let base = baseThresholds(classNames: classNames)
        return classNames.indices.map { c in
            guard adaptive.applies(to: classNames[c]) else { return base[c] }
            let floor = adaptive.floor ?? base[c]
            return max(0, min(base[c], floor - adaptive.margin))
        }
    }
}

/// How the model's output is laid out, as configured; `auto` picks from shape and class count.
public enum OutputLayoutChoice: String, Sendable, Equatable, CaseIterable {
    case auto
    /// Ultralytics YOLOv8/YOLO11/YOLOv5u: [1, 4+nc, N].
    case ultralytics
    /// Classic YOLOv5: [1, N, 5+nc], objectness × class score.
    case yolov5
}

/// Which classes a candidate box may stand for.
public enum LabelMode: String, Sendable, Equatable, CaseIterable {
    /// The box's best class only.
    case best
    /// Every class whose score passes the pre-filter (one candidate per box and class).
    case all
}

/// Static confidence thresholds: `detection.confidence` and `detection.classes.<name>.confidence`.
public struct ThresholdSettings: Sendable, Equatable {
    /// Threshold for every class not listed in `perClass` (`confidence`, default 0.25).
    public var base: Float
    /// Per-class overrides by class name (`classes.<name>.confidence`).
    public var perClass: [String: Float]

    /// Creates thresholds; defaults to 0.25 for every class.
    public init(base: Float = 0.25, perClass: [String: Float] = [:]) { self.base = base; self.perClass = perClass }

}

/// Non-maximum suppression: `detection.nms`.
public struct NMSSettings: Sendable, Equatable {
    /// Default IoU threshold for the daemon: the product brief recommends 0.3 for small dense defects.
    /// (`detect` and `eval` pass their own, e.g. 0.7 as Ultralytics validates.)
    public static let defaultIoU: Double = 0.3

    /// A lower-scoring box is suppressed when its IoU with a kept box is strictly above this (`iou`).
    /// Double, because torchvision compares the float IoU against a double threshold.
    public var iou: Double
    /// Suppress across classes too (`class_agnostic`, default false: torchvision `batched_nms`).
    public var classAgnostic: Bool
    /// At most this many defects per frame, the highest-scoring (`max_detections`, default 300).
    public var maxDetections: Int
    /// When set, a box lying at least this fraction inside a higher-scoring kept box of the same class is
    /// dropped after NMS (`containment`, e.g. 0.9; default off).
    public var containment: Float?

    /// Creates NMS settings; defaults from the product brief.
    public init(iou: Double = NMSSettings.defaultIoU, classAgnostic: Bool = false, maxDetections: Int = 300,
                containment: Float? = nil) {
        self.iou = iou; self.classAgnostic = classAgnostic; self.maxDetections = maxDetections
        self.containment = containment
    }

    func validate(prefix: String) -> [SettingsProblem] {
        var list = ProblemList()
        list.probability(iou, "\(prefix).iou")
        if maxDetections < 1 { list.add("\(prefix).max_detections", "must be at least 1, got \(maxDetections)") }
        if let containment, !(containment > 0 && containment <= 1) {
            list.add("\(prefix).containment", "must be above 0 and at most 1, got \(containment)")
        }
        return list.problems
    }
}
