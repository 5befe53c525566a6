/// A camera's ROI, masks and per-class box filters, prepared for the frame path.
public struct RegionFilter: Sendable {
    /// The inspected area; nil means the whole frame.
    public let polygon: Polygon?
    /// Areas never inspected.
    public let masks: [Polygon]
    /// Box filter per class id (nil: none).
    public let boxFilters: [BoxFilter?]

    /// Prepares `rules` for a model with `classNames`; throws the validation problems if any.
    public init(rules: CameraRules, classNames: [String], prefix: String = "cameras[0]") throws(SettingsError) {
        let problems = rules.validate(classNames: classNames, prefix: prefix)
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        polygon = try rules.roi.polygon.map { points throws(SettingsError) in try Polygon(points: points) }
        var masks: [Polygon] = []
        for points in rules.roi.masks { masks.append(try Polygon(points: points)) }
        self.masks = masks
        boxFilters = classNames.map { rules.boxFilters[$0] }
    }

    /// True when a box of `classID` counts: its centre inside the ROI and outside every mask, and its geometry
    /// within the class's limits.
    public func accepts(_ box: Box, classID: Int) -> Bool {
        if classID >= 0 && classID < boxFilters.count, let filter = boxFilters[classID], !filter.accepts(box) {
            return false
        }
        let cx = (box.x1 + box.x2) / 2, cy = (box.y1 + box.y2) / 2
        if let polygon, !polygon.contains(x: cx, y: cy) { return false }
        for mask in masks where mask.contains(x: cx, y: cy) { return false }
        return true
    }

    /// True when nothing is filtered (saves the per-box checks).
    public var isEmpty: Bool { polygon == nil && masks.isEmpty && boxFilters.allSatisfy { $0 == nil } }
}
