/// The stateful per-camera stage, called in frame order: applies the thresholds in force, updates the
/// adaptive thresholds, evaluates line rules and drift, and returns the frame's `Inspection`.
///
/// Not thread-safe: one judge per camera, fed by one ordered consumer.
public final class CameraJudge {
    /// The camera this judge belongs to.
    public let cameraID: String
    /// Class names by class id.
    public let classNames: [String]
    private let base: [Float]
    private var adaptive: [AdaptiveThreshold?]
    private let driftAfter: Double
    private var ceilingSince: [Double?]
    private var driftAlarmed: [Bool]
    private var rules: LineRuleTracker
    private var present: [Bool]
    private var highest: [Float]

    /// Builds a judge, validating `settings` and `rules` (keys under `cameraKey`), restoring adaptive `state`
    /// saved earlier (classes missing from it start empty). Throws `SettingsError`.
    public init(cameraID: String, classNames: [String], settings: DetectionSettings, rules: CameraRules = .init(),
                cameraKey: String = "cameras[0]", state: ThresholdState? = nil) throws(SettingsError) {
        let problems = settings.validate(classNames: classNames) + rules.validate(classNames: classNames, prefix: cameraKey)
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        self.cameraID = cameraID
        self.classNames = classNames
        let base = settings.baseThresholds(classNames: classNames)
        self.base = base
        adaptive = classNames.indices.map { c in
            settings.adaptive.applies(to: classNames[c]) ? AdaptiveThreshold(settings: settings.adaptive, base: base[c]) : nil
        }
        driftAfter = settings.adaptive.driftAfterSeconds
        ceilingSince = Array(repeating: nil, count: classNames.count)
        driftAlarmed = Array(repeating: false, count: classNames.count)
        self.rules = LineRuleTracker(rules: rules.lineRules, classNames: classNames)
        present = Array(repeating: false, count: classNames.count)
        highest = Array(repeating: 0, count: classNames.count)
        if let state { restore(state) }
    }

    /// Threshold in force per class id.
    public var thresholds: [Float] {
        classNames.indices.map { adaptive[$0]?.threshold ?? base[$0] }
    }

    /// Snapshot of the adaptive state for the audit store.
    public var thresholdState: ThresholdState {
        var classes: [String: ThresholdState.ClassState] = [:]
        for c in classNames.indices {
            guard let a = adaptive[c] else { continue }
            classes[classNames[c]] = .init(samples: a.samplesInOrder, threshold: a.threshold,
                                           ceilingSince: ceilingSince[c], driftAlarmed: driftAlarmed[c])
        }
        return ThresholdState(classes: classes)
    }

    private func restore(_ state: ThresholdState) {
        for c in classNames.indices {
            guard adaptive[c] != nil, let saved = state.classes[classNames[c]] else { continue }
            adaptive[c]?.restore(saved.samples, threshold: saved.threshold)
            if adaptive[c]?.atCeiling == true {
                ceilingSince[c] = saved.ceilingSince
                driftAlarmed[c] = saved.driftAlarmed
            }
        }
    }

    /// Judges one frame's candidates (from `FrameDetector.detect`, any order) and returns its inspection.
    /// Frames must come in sequence order for adaptive thresholds and line rules to mean anything.
    public func judge(_ candidates: [Candidate], frame: FrameStamp) -> Inspection {
        let inForce = thresholds
        for c in present.indices { present[c] = false; highest[c] = 0 }
        var defects: [Defect] = []
        for candidate in candidates {
            let c = candidate.classID
            guard c >= 0 && c < classNames.count else { continue }
            if candidate.score >= inForce[c] {
                present[c] = true
                defects.append(Defect(classID: c, className: classNames[c], confidence: candidate.score,
                                      threshold: inForce[c], box: candidate.box))
            } else {
                highest[c] = max(highest[c], candidate.score)
            }
        }
        let now = frame.captureTime.timeIntervalSince1970
        var changes: [ThresholdChange] = []
        var alarms: [Alarm] = []
        for c in classNames.indices where adaptive[c] != nil && !present[c] {
            adaptive[c]?.add(highest[c])
            let after = adaptive[c]?.threshold ?? inForce[c]
            if after != inForce[c] {
                changes.append(ThresholdChange(classID: c, className: classNames[c], from: inForce[c], to: after))
            }
        }
        for c in classNames.indices where adaptive[c] != nil {
            guard adaptive[c]?.atCeiling == true else { ceilingSince[c] = nil; driftAlarmed[c] = false; continue }
            let since = ceilingSince[c] ?? now
            ceilingSince[c] = since
            if !driftAlarmed[c] && now - since >= driftAfter {
                driftAlarmed[c] = true
                alarms.append(Alarm(ruleID: "drift:\(classNames[c])", kind: "threshold_drift",
                                    message: "\(classNames[c]) threshold held at its ceiling "
                                        + "\(adaptive[c]?.ceiling ?? 0) for \(Int(now - since)) s: the scene changed?",
                                    evidence: [frame.sequence]))
            }
        }
        alarms += rules.record(sequence: frame.sequence, classesPresent: present, ng: !defects.isEmpty)
        return Inspection(cameraID: cameraID, sequence: frame.sequence, captureTime: frame.captureTime,
                          monotonicNanos: frame.monotonicNanos, verdict: defects.isEmpty ? .ok : .ng,
                          defects: defects, alarms: alarms, thresholdChanges: changes)
    }
}
