import Foundation

/// Draws closed polygon outlines on an `.rgb24` buffer in place (an inspection area and its masks on an
/// annotated frame).
public enum PolygonPainter {
    /// Draws the outline through `points` (pixels, closed back to the first), `thickness` pixels wide, clipped
    /// to the image; `dash` > 0 leaves every other `dash` pixels out (masks read apart from the ROI).
    /// Throws `ImagingError.unsupportedFormat` for a buffer that is not `.rgb24`, `.shortData` when it is too short.
    public static func draw(points: [(x: Float, y: Float)], color: BoxPainter.Color, thickness: Int = 2, dash: Int = 0,
                            on image: PixelBuffer) throws {
        guard image.format == .rgb24 else {
            throw ImagingError.unsupportedFormat("polygons are drawn on rgb24, not \(image.format.rawValue)")
        }
        let w = image.width, h = image.height
        guard w > 0, h > 0, image.byteCount >= w * h * 3 else {
            throw ImagingError.shortData(expected: max(0, w * h * 3), got: image.byteCount)
        }
        guard points.count >= 2, points.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else { return }
        let px = image.bytes.assumingMemoryBound(to: UInt8.self)
        let t = max(1, thickness), half = (t - 1) / 2
        for i in 0..<points.count {
            let a = points[i], b = points[(i + 1) % points.count]
            let dx = Double(b.x - a.x), dy = Double(b.y - a.y)
            // Clamped so a wild config point cannot make this loop run for ages.
            let steps = min(100_000, max(1, Int(max(abs(dx), abs(dy)).rounded(.up))))
            for k in 0...steps {
                if dash > 0 && (k / dash) % 2 == 1 { continue }
                // Clamped before the conversion: a point far outside any image must not trap in Int().
                let cx = Int(min(1e7, max(-1e7, Double(a.x) + dx * Double(k) / Double(steps))).rounded()) - half
                let cy = Int(min(1e7, max(-1e7, Double(a.y) + dy * Double(k) / Double(steps))).rounded()) - half
                let left = max(0, cx), right = min(w, cx + t), top = max(0, cy), bottom = min(h, cy + t)
                guard left < right, top < bottom else { continue }  // off the image
                for y in top..<bottom {
                    var p = px + (y * w + left) * 3
                    for _ in left..<right { p[0] = color.r; p[1] = color.g; p[2] = color.b; p += 3 }
                }
            }
        }
    }
}
