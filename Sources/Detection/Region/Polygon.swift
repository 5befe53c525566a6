/// A simple polygon in source-frame pixels (inspection area or exclusion mask).
public struct Polygon: Sendable, Equatable {
    /// Vertices in order; the last connects back to the first.
    public let xs: [Float], ys: [Float]
    private let minX: Float, minY: Float, maxX: Float, maxY: Float

    /// Creates a polygon from `[x, y]` points; throws unless there are 3+ points and no self-intersection.
    public init(points: [[Float]]) throws(SettingsError) {
        let problems = Polygon.problems(points: points, key: "polygon")
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        xs = points.map { $0[0] }; ys = points.map { $0[1] }
        minX = xs.min() ?? 0; maxX = xs.max() ?? 0; minY = ys.min() ?? 0; maxY = ys.max() ?? 0
    }

    /// Even-odd rule; a point exactly on an edge may fall either way.
    public func contains(x: Float, y: Float) -> Bool {
        if x < minX || x > maxX || y < minY || y > maxY { return false }
        var inside = false
        var j = xs.count - 1
        for i in 0..<xs.count {
            if (ys[i] > y) != (ys[j] > y) {
                let crossX = (xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i]) + xs[i]
                if x < crossX { inside.toggle() }
            }
            j = i
        }
        return inside
    }

    /// Problems with `points` as a polygon, named under `key` (the one polygon check: the config reader
    /// uses it too).
    public static func problems(points: [[Float]], key: String) -> [SettingsProblem] {
        var list = ProblemList()
        for (i, p) in points.enumerated() where p.count != 2 || !p.allSatisfy({ $0.isFinite }) {
            list.add("\(key)[\(i)]", "a point is [x, y] with finite numbers, got \(p)")
        }
        if !list.problems.isEmpty { return list.problems }
        if points.count < 3 {
            list.add(key, "a polygon needs at least 3 points, got \(points.count)")
            return list.problems
        }
        let n = points.count
        func point(_ i: Int) -> (Double, Double) { (Double(points[i % n][0]), Double(points[i % n][1])) }
        for i in 0..<n {
            for j in (i + 1)..<n {
                // Adjacent edges share a vertex: not an intersection.
                if j == i + 1 || (i == 0 && j == n - 1) { continue }
                if segmentsIntersect(point(i), point(i + 1), point(j), point(j + 1)) {
                    list.add(key, "polygon is self-intersecting (edge \(i)→\((i + 1) % n) crosses edge \(j)→\((j + 1) % n))")
                    return list.problems
                }
            }
        }
        var twiceArea = 0.0
        for i in 0..<n { let a = point(i), b = point(i + 1); twiceArea += a.0 * b.1 - b.0 * a.1 }
        if twiceArea == 0 { list.add(key, "polygon has zero area") }
        return list.problems
    }

    private static func segmentsIntersect(_ p1: (Double, Double), _ p2: (Double, Double),
                                          _ q1: (Double, Double), _ q2: (Double, Double)) -> Bool {
        func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
            (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
        }
        func onSegment(_ p: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Bool {
            min(a.0, b.0) <= p.0 && p.0 <= max(a.0, b.0) && min(a.1, b.1) <= p.1 && p.1 <= max(a.1, b.1)
        }
        let d1 = cross(q1, q2, p1), d2 = cross(q1, q2, p2), d3 = cross(p1, p2, q1), d4 = cross(p1, p2, q2)
        if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) { return true }
        if d1 == 0 && onSegment(p1, q1, q2) { return true }
        if d2 == 0 && onSegment(p2, q1, q2) { return true }
        if d3 == 0 && onSegment(q1, p1, p2) { return true }
        if d4 == 0 && onSegment(q2, p1, p2) { return true }
        return false
    }
}
