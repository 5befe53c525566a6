/// Evaluates a camera's line rules frame by frame, in frame order. See `LineRule` for when each rule fires
/// and re-arms.
struct LineRuleTracker {
    private let rules: [LineRule]
    private let classNames: [String]
    /// Per rule: the watched class ids.
    private let watched: [[Int]]
    /// Per rule and class: current streak length and whether the rule may fire for that class.
    private var streaks: [[Int]]
    private var streakArmed: [[Bool]]
    /// Last sequence numbers of this camera, newest last, as many as the longest rule needs.
    private var recent: [UInt64] = []
    private var recentNG: [Bool] = []
    private let history: Int
    /// Per rule: whether the NG-rate rule may fire.
    private var rateArmed: [Bool]

    init(rules: [LineRule], classNames: [String]) {
        self.rules = rules
        self.classNames = classNames
        watched = rules.map { rule in
            guard rule.kind == .consecutiveClass else { return [] }
            if let name = rule.className { return classNames.firstIndex(of: name).map { [$0] } ?? [] }
            return Array(classNames.indices)
        }
        streaks = rules.map { _ in [Int](repeating: 0, count: classNames.count) }
        streakArmed = rules.map { _ in [Bool](repeating: true, count: classNames.count) }
        rateArmed = [Bool](repeating: true, count: rules.count)
        history = max(1, rules.map(\.frames).max() ?? 1)
        recent.reserveCapacity(history + 1)
        recentNG.reserveCapacity(history + 1)
    }

    /// Records one inspected frame and returns the alarms it raises.
    mutating func record(sequence: UInt64, classesPresent: [Bool], ng: Bool) -> [Alarm] {
        recent.append(sequence); recentNG.append(ng)
        if recent.count > history { recent.removeFirst(); recentNG.removeFirst() }
        var alarms: [Alarm] = []
        for (r, rule) in rules.enumerated() {
            switch rule.kind {
            case .consecutiveClass:
                for c in watched[r] {
                    guard classesPresent[c] else { streaks[r][c] = 0; streakArmed[r][c] = true; continue }
                    streaks[r][c] += 1
                    if streaks[r][c] >= rule.frames && streakArmed[r][c] {
                        streakArmed[r][c] = false
                        alarms.append(Alarm(ruleID: rule.id, kind: "consecutive_class",
                                            message: "\(classNames[c]) on \(rule.frames) consecutive frames",
                                            evidence: Array(recent.suffix(rule.frames))))
                    }
                }
            case .ngRate:
                guard recent.count >= rule.frames, let limit = rule.ngPercent else { continue }
                let window = recent.count - rule.frames
                var ngCount = 0
                for i in window..<recent.count where recentNG[i] { ngCount += 1 }
                let percent = Double(ngCount) * 100 / Double(rule.frames)
                if percent > limit {
                    if rateArmed[r] {
                        rateArmed[r] = false
                        let evidence = (window..<recent.count).filter { recentNG[$0] }.map { recent[$0] }
                        alarms.append(Alarm(ruleID: rule.id, kind: "ng_rate",
                                            message: "NG rate \(ngCount)/\(rule.frames) frames exceeds \(limit)%",
                                            evidence: evidence))
                    }
                } else {
                    rateArmed[r] = true
                }
            }
        }
        return alarms
    }
}
