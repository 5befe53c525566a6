/// Per-camera detection rules: the ROI, exclusion masks, box filters and line rules of `cameras[i]`.
///
/// Coordinates are source-frame pixels of that camera.
public struct CameraRules: Sendable, Equatable {
    /// Where defects count (`roi`).
    public var roi: RegionSettings
    /// Per-class box geometry limits by class name (`detection.classes.<class>.min_area` …).
    public var boxFilters: [String: BoxFilter]
    /// Alarms for MES (`line_rules`).
    public var lineRules: [LineRule]

    /// Creates camera rules; the default counts everything and raises no line alarm.
    public init(roi: RegionSettings = .init(), boxFilters: [String: BoxFilter] = [:], lineRules: [LineRule] = []) {
        self.roi = roi; self.boxFilters = boxFilters; self.lineRules = lineRules
    }

    /// Every problem in these rules, keys prefixed with `prefix` (e.g. `cameras[0]`).
    public func validate(classNames: [String], prefix: String = "cameras[0]") -> [SettingsProblem] {
        var problems = roi.validate(prefix: "\(prefix).roi")
        for name in boxFilters.keys.sorted() {
            var list = ProblemList()
            list.knownClass(name, classNames, "detection.classes.\(name)")
            problems += list.problems
            problems += boxFilters[name]?.validate(prefix: "detection.classes.\(name)") ?? []
        }
        var seen = Set<String>()
        for (i, rule) in lineRules.enumerated() {
            let key = "\(prefix).line_rules[\(i)]"
            problems += rule.validate(classNames: classNames, prefix: key)
            if !seen.insert(rule.id).inserted {
                problems.append(SettingsProblem(key: "\(key).id", message: "duplicate rule id '\(rule.id)'"))
            }
        }
        return problems
    }
}

/// Inspection polygon and exclusion masks: `cameras[i].roi`. Points are `[x, y]` pairs in source pixels.
public struct RegionSettings: Sendable, Equatable {
    /// The inspected area (`polygon`); nil means the whole frame.
    public var polygon: [[Float]]?
    /// Areas never inspected (`masks`), e.g. fixtures, labels, the conveyor edge.
    public var masks: [[[Float]]]

    /// Creates region settings; the default inspects the whole frame.
    public init(polygon: [[Float]]? = nil, masks: [[[Float]]] = []) { self.polygon = polygon; self.masks = masks }

    func validate(prefix: String) -> [SettingsProblem] {
        var problems: [SettingsProblem] = []
        if let polygon { problems += Polygon.problems(points: polygon, key: "\(prefix).polygon") }
        for (i, mask) in masks.enumerated() { problems += Polygon.problems(points: mask, key: "\(prefix).masks[\(i)]") }
        return problems
    }
}

/// Geometry limits for one class's boxes (source pixels): `detection.classes.<class>`.
///
/// Aspect ratio is long side / short side (≥ 1), so a scratch counts the same whichever way it runs.
public struct BoxFilter: Sendable, Equatable {
    /// Smallest box area in px² (`min_area`).
    public var minArea: Float?
    /// Largest box area in px² (`max_area`).
    public var maxArea: Float?
    /// Smallest long/short side ratio (`min_aspect`).
    public var minAspect: Float?
    /// Largest long/short side ratio (`max_aspect`).
    public var maxAspect: Float?

    /// Creates a filter; nil limits do not apply.
    public init(minArea: Float? = nil, maxArea: Float? = nil, minAspect: Float? = nil, maxAspect: Float? = nil) {
        self.minArea = minArea; self.maxArea = maxArea; self.minAspect = minAspect; self.maxAspect = maxAspect
    }

    /// True when `box` passes every limit.
    public func accepts(_ box: Box) -> Bool {
        let area = box.area
        if let minArea, area < minArea { return false }
        if let maxArea, area > maxArea { return false }
        if minAspect != nil || maxAspect != nil {
            let long = max(box.width, box.height), short = min(box.width, box.height)
            // A zero-width box has an infinite aspect ratio: it fails any maximum and passes any minimum.
            let aspect = short > 0 ? long / short : Float.infinity
            if let minAspect, aspect < minAspect { return false }
            if let maxAspect, aspect > maxAspect { return false }
        }
        return true
    }

    func validate(prefix: String) -> [SettingsProblem] {
        var list = ProblemList()
        for (value, key) in [(minArea, "min_area"), (maxArea, "max_area")] {
            if let value, !(value >= 0) { list.add("\(prefix).\(key)", "must not be negative, got \(value)") }
        }
        for (value, key) in [(minAspect, "min_aspect"), (maxAspect, "max_aspect")] {
            if let value, !(value >= 1) {
                list.add("\(prefix).\(key)", "is long side / short side, so at least 1, got \(value)")
            }
        }
        if let lo = minArea, let hi = maxArea, lo > hi {
            list.add("\(prefix).min_area", "must not exceed max_area (\(hi)), got \(lo)")
        }
        if let lo = minAspect, let hi = maxAspect, lo > hi {
            list.add("\(prefix).min_aspect", "must not exceed max_aspect (\(hi)), got \(lo)")
        }
        return list.problems
    }
}
