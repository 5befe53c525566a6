import Foundation

/// Geometry checks on config polygons (ROI and masks).
enum Polygon {
    /// The first pair of non-adjacent edges that cross (edge i joins point i and i+1), or nil for a simple
    /// polygon.
    static func firstCrossing(_ p: [CameraConfig.Point]) -> (Int, Int)? {
        let n = p.count
        guard n >= 4 else { return nil }
        for i in 0..<n {
            for j in (i + 1)..<n {
                if j == i + 1 || (i == 0 && j == n - 1) { continue }  // adjacent edges share a point
                if segmentsIntersect(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n]) { return (i, j) }
            }
        }
        return nil
    }

    private static func segmentsIntersect(_ a: CameraConfig.Point, _ b: CameraConfig.Point,
                                          _ c: CameraConfig.Point, _ d: CameraConfig.Point) -> Bool {
        func orient(_ p: CameraConfig.Point, _ q: CameraConfig.Point, _ r: CameraConfig.Point) -> Double {
            (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x)
        }
        func onSegment(_ p: CameraConfig.Point, _ q: CameraConfig.Point, _ r: CameraConfig.Point) -> Bool {
            min(p.x, q.x) <= r.x && r.x <= max(p.x, q.x) && min(p.y, q.y) <= r.y && r.y <= max(p.y, q.y)
        }
        let o1 = orient(a, b, c), o2 = orient(a, b, d), o3 = orient(c, d, a), o4 = orient(c, d, b)
        if ((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)) { return true }
        return (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d))
            || (o3 == 0 && onSegment(c, d, a)) || (o4 == 0 && onSegment(c, d, b))
    }
}

/// Paths matching a glob pattern, sorted by name (the replay order).
func globMatches(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard glob(pattern, 0, nil, &g) == 0 else { return [] }
    return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
}
