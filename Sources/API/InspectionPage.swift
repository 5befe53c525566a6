/// `GET /api/v1/inspections`: one page of inspections, oldest first, and where the next page starts.
public struct InspectionPage: Codable, Sendable, Equatable {
    public var inspections: [InspectionDocument]
    /// Pass as `cursor` for the next page; absent on the last page.
    public var next: String?
    /// Plain memberwise initializer.
    public init(inspections: [InspectionDocument], next: String?) { self.inspections = inspections; self.next = next }
}
