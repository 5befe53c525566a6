import Detection
import Foundation
import Imaging

/// Makes the annotated copy of an NG frame's evidence JPEG: the frame with each defect's box outlined in its
/// class colour. It decodes into one RGB scratch buffer allocated at start (grown only for a frame larger than
/// any configured camera), so annotating does not allocate per frame beyond the output JPEG.
///
/// `@unchecked Sendable`: the codecs and the scratch are used under `lock` (the recorder is called from every
/// camera's judging thread).
final class SnapshotAnnotator: @unchecked Sendable {
    private let lock = NSLock()
    private let decoder: JPEGDecoder
    private let encoder: JPEGEncoder
    private var rgb: PixelBuffer

    /// `expectedPixels` sizes the scratch (the largest camera's width × height).
    init(expectedPixels: Int) throws {
        decoder = try JPEGDecoder()
        encoder = try JPEGEncoder()
        rgb = PixelBuffer(capacity: max(1, expectedPixels) * 3)
    }

    /// The evidence JPEG with the defects' boxes (source pixels) drawn on it.
    func annotate(jpeg: Data, defects: [Defect]) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        return try jpeg.withUnsafeBytes { bytes in
            let (w, h, _) = try decoder.headerInfo(bytes)
            if w * h * 3 > rgb.capacity { rgb = PixelBuffer(capacity: w * h * 3) }
            try decoder.decode(bytes, into: rgb, format: .rgb24)
            let thickness = max(rgb.width, rgb.height) >= 1200 ? 3 : 2
            for d in defects {
                try BoxPainter.draw(x1: d.box.x1, y1: d.box.y1, x2: d.box.x2, y2: d.box.y2,
                                    color: BoxPainter.color(forClass: d.classID), thickness: thickness, on: rgb)
            }
            return try encoder.encode(rgb, quality: 90)
        }
    }

    /// A camera frame (any capture format) as JPEG: a JPEG frame as captured, others encoded at quality 95 (the raw
    /// frame is for focus and exposure work, where quality 90 would smooth away fine detail and noise).
    func jpeg(of frame: PixelBuffer) throws -> Data {
        if frame.format == .jpeg { return Data(frame.contents) }
        lock.lock()
        defer { lock.unlock() }
        return try encoder.encode(frame, quality: 95)
    }

    /// A camera frame (any capture format) as JPEG with what a commissioning engineer sets up by: the ROI
    /// polygon (green), the masks (grey, dashed), and each defect's box in its class colour labelled with its
    /// class and confidence.
    func annotate(frame: PixelBuffer, defects: [Defect], region: RegionSettings) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        if frame.format == .jpeg {
            let (w, h, _) = try decoder.headerInfo(frame.contents)
            if w * h * 3 > rgb.capacity { rgb = PixelBuffer(capacity: w * h * 3) }
            try decoder.decode(frame.contents, into: rgb, format: .rgb24)
        } else {
            try ColorConversion.validate(frame)
            let need = frame.width * frame.height * 3
            if need > rgb.capacity { rgb = PixelBuffer(capacity: need) }
            try ColorConversion.toRGB(frame, into: rgb)
        }
        let large = max(rgb.width, rgb.height) >= 1200
        let thickness = large ? 3 : 2, scale = large ? 3 : 2
        func points(_ p: [[Float]]) -> [(x: Float, y: Float)] { p.map { (x: $0[0], y: $0[1]) } }
        for mask in region.masks {
            try PolygonPainter.draw(points: points(mask), color: .init(r: 160, g: 160, b: 160), thickness: thickness,
                                    dash: 8, on: rgb)
        }
        if let roi = region.polygon {
            try PolygonPainter.draw(points: points(roi), color: .init(r: 0, g: 220, b: 0), thickness: thickness, on: rgb)
        }
        for d in defects {
            let color = BoxPainter.color(forClass: d.classID)
            try BoxPainter.draw(x1: d.box.x1, y1: d.box.y1, x2: d.box.x2, y2: d.box.y2, color: color,
                                thickness: thickness, on: rgb)
            guard [d.box.x1, d.box.y1, d.box.x2, d.box.y2].allSatisfy(\.isFinite) else { continue }
            // Above the box when there is room, else inside it at its top.
            let label = "\(d.className) \(String(format: "%.2f", d.confidence))"
            let (_, lh) = LabelPainter.size(of: label, scale: scale)
            let x = Int(max(0, min(1e6, min(d.box.x1, d.box.x2))).rounded(.down))
            let top = Int(max(0, min(1e6, min(d.box.y1, d.box.y2))).rounded(.down))
            try LabelPainter.draw(label, x: max(0, x), y: top - lh >= 0 ? top - lh : max(0, top), scale: scale,
                                  background: color, on: rgb)
        }
        return try encoder.encode(rgb, quality: 90)
    }
}
