import Foundation

/// Draws rectangle outlines on an `.rgb24` buffer in place (the boxes of annotated evidence snapshots).
public enum BoxPainter {
    /// An RGB colour.
    public struct Color: Sendable, Equatable {
        public var r: UInt8, g: UInt8, b: UInt8
        /// Makes a colour.
        public init(r: UInt8, g: UInt8, b: UInt8) { self.r = r; self.g = g; self.b = b }
    }

    /// Distinct, saturated colours that stand out on green/copper PCB images; class `k` gets `palette[k % count]`.
    public static let palette: [Color] = [
        Color(r: 255, g: 0, b: 0), Color(r: 255, g: 0, b: 255), Color(r: 0, g: 160, b: 255),
        Color(r: 255, g: 200, b: 0), Color(r: 0, g: 255, b: 255), Color(r: 255, g: 128, b: 0),
    ]

    /// The colour of class `classID`.
    public static func color(forClass classID: Int) -> Color {
        palette[((classID % palette.count) + palette.count) % palette.count]
    }

    /// Draws the outline of the box with corners (`x1`, `y1`)–(`x2`, `y2`) in pixels, `thickness` pixels wide
    /// inside the box, clipped to the image. A box entirely outside the image draws nothing.
    /// Throws `ImagingError.unsupportedFormat` for a buffer that is not `.rgb24`, `.shortData` when it is too short.
    public static func draw(x1: Float, y1: Float, x2: Float, y2: Float, color: Color, thickness: Int = 2,
                            on image: PixelBuffer) throws {
        guard image.format == .rgb24 else {
            throw ImagingError.unsupportedFormat("boxes are drawn on rgb24, not \(image.format.rawValue)")
        }
        let w = image.width, h = image.height
        guard w > 0, h > 0, image.byteCount >= w * h * 3 else {
            throw ImagingError.shortData(expected: max(0, w * h * 3), got: image.byteCount)
        }
        guard x1.isFinite, y1.isFinite, x2.isFinite, y2.isFinite else { return }
        let left = max(0, Int(min(x1, x2).rounded(.down))), right = min(w - 1, Int(max(x1, x2).rounded(.up)) - 1)
        let top = max(0, Int(min(y1, y2).rounded(.down))), bottom = min(h - 1, Int(max(y1, y2).rounded(.up)) - 1)
        guard left <= right, top <= bottom else { return }
        let t = max(1, thickness)
        let px = image.bytes.assumingMemoryBound(to: UInt8.self)
        func fill(_ xa: Int, _ ya: Int, _ xb: Int, _ yb: Int) {
            guard xa <= xb, ya <= yb else { return }
            for y in ya...yb {
                var p = px + (y * w + xa) * 3
                for _ in xa...xb { p[0] = color.r; p[1] = color.g; p[2] = color.b; p += 3 }
            }
        }
        fill(left, top, right, min(bottom, top + t - 1))                 // top edge
        fill(left, max(top, bottom - t + 1), right, bottom)              // bottom edge
        fill(left, top, min(right, left + t - 1), bottom)                // left edge
        fill(max(left, right - t + 1), top, right, bottom)               // right edge
    }
}
