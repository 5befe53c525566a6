import Foundation

/// A rigid motion (rotation about the image centre, then translation) that carries a point of the frame to
/// the same point of the reference: `p_ref = R(angle) · (p_frame − centre) + centre + (dx, dy)`.
///
/// Coordinates are continuous pixel coordinates, the convention of boxes: pixel (i, j) covers
/// [i, i+1) × [j, j+1) and its centre is (i + 0.5, j + 0.5); `centre` is (width/2, height/2). y grows
/// downwards, so a positive angle turns clockwise on screen. A board that sits 5 px further right in the frame
/// than in the reference gives dx = −5 (the frame must move left to cover the reference).
public struct RigidTransform: Sendable, Equatable, CustomStringConvertible {
    /// Translation in reference pixels, applied after the rotation.
    public var dx: Double, dy: Double
    /// Rotation in radians about `(centerX, centerY)`.
    public var angle: Double
    /// Centre of rotation (the image centre, width/2 and height/2).
    public var centerX: Double, centerY: Double

    /// Creates a transform; `angle` is in radians.
    public init(dx: Double, dy: Double, angle: Double, centerX: Double, centerY: Double) {
        self.dx = dx; self.dy = dy; self.angle = angle; self.centerX = centerX; self.centerY = centerY
    }

    /// The identity for an image of `width`×`height` (centre at its middle).
    public static func identity(width: Int, height: Int) -> RigidTransform {
        RigidTransform(dx: 0, dy: 0, angle: 0, centerX: Double(width) / 2, centerY: Double(height) / 2)
    }

    /// The rotation in degrees.
    public var degrees: Double { angle * 180 / .pi }

    /// Length of the translation, pixels (what `AlignmentSettings.maxShift` limits).
    public var shift: Double { (dx * dx + dy * dy).squareRoot() }

    /// Where a frame point lands in the reference.
    public func referencePoint(fromFrame x: Double, _ y: Double) -> (x: Double, y: Double) {
        let c = cos(angle), s = sin(angle), u = x - centerX, v = y - centerY
        return (c * u - s * v + centerX + dx, s * u + c * v + centerY + dy)
    }

    /// Where a reference point comes from in the frame (the inverse motion).
    public func framePoint(fromReference x: Double, _ y: Double) -> (x: Double, y: Double) {
        let c = cos(angle), s = sin(angle), u = x - centerX - dx, v = y - centerY - dy
        return (c * u + s * v + centerX, -s * u + c * v + centerY)
    }

    /// Maps a box in reference (= aligned-frame) coordinates back to the original frame: its four corners
    /// through the inverse motion, their bounding box, clamped to the frame's `width`×`height`. A box that
    /// falls wholly outside the frame comes back with zero width or height at the frame's edge.
    public func frameBox(fromReference x1: Double, _ y1: Double, _ x2: Double, _ y2: Double,
                         frameWidth width: Int, frameHeight height: Int) -> (x1: Double, y1: Double, x2: Double, y2: Double) {
        // Four named corners rather than an array: boxes are mapped on the frame path, which does not allocate.
        let a = framePoint(fromReference: x1, y1), b = framePoint(fromReference: x2, y1)
        let c = framePoint(fromReference: x1, y2), d = framePoint(fromReference: x2, y2)
        let lx = min(min(a.x, b.x), min(c.x, d.x)), ly = min(min(a.y, b.y), min(c.y, d.y))
        let hx = max(max(a.x, b.x), max(c.x, d.x)), hy = max(max(a.y, b.y), max(c.y, d.y))
        let w = Double(width), h = Double(height)
        return (min(max(lx, 0), w), min(max(ly, 0), h), min(max(hx, 0), w), min(max(hy, 0), h))
    }

    /// The forward map as a 2×3 matrix [a b c; d e f] in pixel-index coordinates (pixel centres at integers),
    /// for resampling loops: reference index = (a·x + b·y + c, d·x + e·y + f) for frame index (x, y).
    var indexMatrix: (Double, Double, Double, Double, Double, Double) {
        let c = cos(angle), s = sin(angle), cx = centerX - 0.5, cy = centerY - 0.5
        return (c, -s, cx + dx - c * cx + s * cy, s, c, cy + dy - s * cx - c * cy)
    }

    /// The inverse map (reference index → frame index) as a 2×3 matrix, the one resampling walks.
    var inverseIndexMatrix: (Double, Double, Double, Double, Double, Double) {
        let c = cos(angle), s = sin(angle), cx = centerX - 0.5, cy = centerY - 0.5
        // p_f = R^T (p_r − c − t) + c
        let tx = cx + dx, ty = cy + dy
        return (c, s, cx - c * tx - s * ty, -s, c, cy + s * tx - c * ty)
    }

    /// One line for logs: "dx −1.25 px, dy 0.50 px, rotation 0.120°".
    public var description: String {
        String(format: "dx %.2f px, dy %.2f px, rotation %.3f°", dx, dy, degrees)
    }
}
