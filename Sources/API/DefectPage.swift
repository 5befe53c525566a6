/// `GET /api/v1/defects?format=json`: one page of defects, oldest first, and where the next page starts.
public struct DefectPage: Codable, Sendable, Equatable {
    public var defects: [DefectDocument]
    /// Pass as `cursor` for the next page; absent on the last page.
    public var next: String?
    /// Plain memberwise initializer.
    public init(defects: [DefectDocument], next: String?) { self.defects = defects; self.next = next }
}
