import Foundation

extension AuditQueries {
    /// Where a page of a listing ended: the last row's capture time (as the database spells it), inspection id
    /// and, for defects, defect id. Clients see it only as an opaque ``token``, so the spelling can change.
    public struct Cursor: Sendable, Equatable {
        /// `inspections.captured_at`, verbatim (`YYYY-MM-DD HH:MM:SS.SSS`).
        public var capturedAt: String
        /// `inspections.id`.
        public var inspectionID: Int64
        /// `defects.id` (defect listings only).
        public var defectID: Int64?

        /// Plain memberwise initializer.
        public init(capturedAt: String, inspectionID: Int64, defectID: Int64?) {
            self.capturedAt = capturedAt; self.inspectionID = inspectionID; self.defectID = defectID
        }

        /// The opaque form (base64url, no padding).
        public var token: String {
            let text = "1|\(capturedAt)|\(inspectionID)|\(defectID.map(String.init) ?? "")"
            return Data(text.utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }

        /// Reads a ``token``; nil when it is not one (edited, truncated, from another listing's spelling).
        public init?(token: String) {
            var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            guard token.count <= 200, let data = Data(base64Encoded: base64),
                  let text = String(data: data, encoding: .utf8) else { return nil }
            let parts = text.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[0] == "1", parts[1].count == 23,
                  parts[1].allSatisfy({ $0.isASCII && ($0.isNumber || "-: .".contains($0)) }),
                  let inspection = Int64(parts[2]) else { return nil }
            let defect = parts[3].isEmpty ? nil : Int64(parts[3])
            guard parts[3].isEmpty || defect != nil else { return nil }
            self.init(capturedAt: String(parts[1]), inspectionID: inspection, defectID: defect)
        }
    }
}
