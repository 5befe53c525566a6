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
}
