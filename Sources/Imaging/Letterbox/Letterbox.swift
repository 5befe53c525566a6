import Foundation

/// Ultralytics letterbox geometry: scale a frame to fit the model input keeping its aspect ratio, centre it,
/// pad the rest with grey 114. Computed exactly as Ultralytics `LetterBox` does (Python's round-half-even,
/// pads `round(d - 0.1)`), so boxes map back the way Ultralytics' `scale_boxes` maps them.
public struct Letterbox: Sendable, Equatable {
    /// Grey value of the padding (Ultralytics default).
    public static let padValue: UInt8 = 114

    /// Frame size.
    public let sourceWidth: Int, sourceHeight: Int
    /// Model input size.
    public let targetWidth: Int, targetHeight: Int
    /// Model-input pixels per source pixel: min(targetW/sourceW, targetH/sourceH).
    public let scale: Double
    /// Size of the scaled frame inside the input.
    public let resizedWidth: Int, resizedHeight: Int
    /// Padding left of and above the scaled frame.
    public let padLeft: Int, padTop: Int

    /// Computes the geometry. Throws `ImagingError.zeroSize` for an empty frame or target.
    public init(sourceWidth: Int, sourceHeight: Int, targetWidth: Int, targetHeight: Int) throws {
        guard sourceWidth > 0, sourceHeight > 0 else {
            throw ImagingError.zeroSize(width: sourceWidth, height: sourceHeight)
        }
        guard targetWidth > 0, targetHeight > 0 else {
            throw ImagingError.zeroSize(width: targetWidth, height: targetHeight)
        }
        self.sourceWidth = sourceWidth; self.sourceHeight = sourceHeight
        self.targetWidth = targetWidth; self.targetHeight = targetHeight
        let r = min(Double(targetHeight) / Double(sourceHeight), Double(targetWidth) / Double(sourceWidth))
        scale = r
        // Python's round() is round-half-even.
        resizedWidth = max(1, Int((Double(sourceWidth) * r).rounded(.toNearestOrEven)))
        resizedHeight = max(1, Int((Double(sourceHeight) * r).rounded(.toNearestOrEven)))
        let dw = Double(targetWidth - resizedWidth) / 2, dh = Double(targetHeight - resizedHeight) / 2
        padLeft = Int((dw - 0.1).rounded(.toNearestOrEven))
        padTop = Int((dh - 0.1).rounded(.toNearestOrEven))
    }

    /// Horizontal padding as a float (the `padX` of Detection's `SourceMapping`).
    public var padX: Float { Float(padLeft) }
    /// Vertical padding as a float (the `padY` of Detection's `SourceMapping`).
    public var padY: Float { Float(padTop) }

    /// Maps a point in model-input pixels to source pixels, clipped to the frame.
    public func sourcePoint(x: Float, y: Float) -> (x: Float, y: Float) {
        let s = Float(scale)
        let sx = (x - padX) / s, sy = (y - padY) / s
        return (min(max(sx, 0), Float(sourceWidth)), min(max(sy, 0), Float(sourceHeight)))
    }

    /// Maps a box in model-input pixels to source pixels, clipped to the frame (Ultralytics `scale_boxes`).
    public func sourceBox(x1: Float, y1: Float, x2: Float, y2: Float) -> (x1: Float, y1: Float, x2: Float, y2: Float) {
        let a = sourcePoint(x: x1, y: y1), b = sourcePoint(x: x2, y: y2)
        return (a.x, a.y, b.x, b.y)
    }
}
