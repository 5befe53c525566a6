import Foundation
import GRDB

extension AuditQueries {
    /// Which inspections (or defects) a listing is about; nil fields do not filter.
    public struct Filter: Sendable, Equatable {
        /// Captured at or after.
        public var since: Date?
        /// Captured before.
        public var until: Date?
        /// Camera id.
        public var camera: String?
        /// `OK`, `NG` or `ERROR`.
        public var verdict: String?
        /// Defect class name: inspections with at least one defect of the class, or only defects of the class.
        public var className: String?
        /// The part id a trigger gave (triggered inspections only).
        public var partID: String?

        /// Plain memberwise initializer.
        public init(since: Date? = nil, until: Date? = nil, camera: String? = nil, verdict: String? = nil,
                    className: String? = nil, partID: String? = nil) {
            self.since = since; self.until = until; self.camera = camera; self.verdict = verdict
            self.className = className; self.partID = partID
        }

        /// SQL conditions on `inspections i` (the class one is `classCondition`, taking the class name).
        func conditions(classCondition: String) -> (conditions: [String], arguments: StatementArguments) {
            var conditions: [String] = [], arguments: StatementArguments = []
            if let since { conditions.append("i.captured_at >= ?"); arguments += [since] }
            if let until { conditions.append("i.captured_at < ?"); arguments += [until] }
            if let camera { conditions.append("i.camera = ?"); arguments += [camera] }
            if let verdict { conditions.append("i.verdict = ?"); arguments += [verdict] }
            if let partID { conditions.append("i.part_id = ?"); arguments += [partID] }
            if let className { conditions.append(classCondition); arguments += [className] }
            return (conditions, arguments)
        }
    }
}
