/// One line rule for MES: `cameras[i].line_rules[j]`.
///
/// - `consecutive_class`: the same defect class on `frames` consecutive inspected frames of the camera
///   (`class` names it; omitted, every class is watched on its own). Fires once when the streak reaches
///   `frames`; re-arms when a frame without that class breaks the streak.
/// - `ng_rate`: more than `ng_percent`% NG frames among the camera's last `frames` inspected frames (judged
///   only once `frames` frames exist). Fires once when the rate rises above the limit; re-arms when it is
///   back at or below the limit.
public struct LineRule: Sendable, Codable, Equatable {
    /// What a rule watches.
    public enum Kind: String, Sendable, Codable, Equatable {
        /// The same class on K consecutive frames.
        case consecutiveClass = "consecutive_class"
        /// NG rate above X% over the last N frames.
        case ngRate = "ng_rate"
    }

    /// The rule's id, carried by its alarms (`id`).
    public var id: String
    /// Rule kind (`kind`).
    public var kind: Kind
    /// For `consecutive_class`: the watched class (`class`); nil watches each class.
    public var className: String?
    /// K for `consecutive_class`, N for `ng_rate` (`frames`).
    public var frames: Int
    /// For `ng_rate`: the limit in percent, 0…100 (`ng_percent`).
    public var ngPercent: Double?

    /// Creates a rule.
    public init(id: String, kind: Kind, className: String? = nil, frames: Int, ngPercent: Double? = nil) {
        self.id = id; self.kind = kind; self.className = className; self.frames = frames; self.ngPercent = ngPercent
    }

    enum CodingKeys: String, CodingKey { case id, kind, className = "class", frames, ngPercent = "ng_percent" }

    func validate(classNames: [String], prefix: String) -> [SettingsProblem] {
        var list = ProblemList()
        if id.isEmpty { list.add("\(prefix).id", "must not be empty") }
        if frames < 1 { list.add("\(prefix).frames", "must be at least 1, got \(frames)") }
        switch kind {
        case .consecutiveClass:
            if let className { list.knownClass(className, classNames, "\(prefix).class") }
            if ngPercent != nil { list.add("\(prefix).ng_percent", "applies to ng_rate rules only") }
        case .ngRate:
            if className != nil { list.add("\(prefix).class", "applies to consecutive_class rules only") }
            if let ngPercent {
                if !(ngPercent >= 0 && ngPercent <= 100) {
                    list.add("\(prefix).ng_percent", "must be between 0 and 100, got \(ngPercent)")
                }
            } else {
                list.add("\(prefix).ng_percent", "is required for an ng_rate rule")
            }
        }
        return list.problems
    }
}
