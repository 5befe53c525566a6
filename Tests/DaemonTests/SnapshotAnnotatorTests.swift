import Capture
import Detection
import Foundation
import Imaging
import XCTest
@testable import Daemon

/// The annotated evidence copy: the same frame, changed along each defect's box and nowhere far from it.
final class SnapshotAnnotatorTests: XCTestCase {
    func testAnnotatedCopyDiffersAlongTheBoxOnly() throws {
        let source = try SyntheticSource(configuration: .init(cameraID: "cam1", width: 320, height: 320, fps: nil,
                                                               defectsPerFrame: 3...3, seed: 3))
        try source.start()
        defer { source.stop() }
        let frame = try XCTUnwrap(try source.nextFrame(timeout: .seconds(5)), "synthetic source gave no frame")
        XCTAssertEqual(frame.pixels.format, .jpeg)
        let plain = Data(frame.pixels.contents)
        frame.release()

        let box = Box(x1: 100, y1: 80, x2: 200, y2: 160)
        let annotator = try SnapshotAnnotator(expectedPixels: 64 * 64)   // smaller than the frame: grows once
        let annotated = try annotator.annotate(jpeg: plain, defects: [
            Defect(classID: 0, className: "open", confidence: 0.9, threshold: 0.25, box: box)])

        let decoder = try JPEGDecoder()
        func decode(_ d: Data) throws -> PixelBuffer {
            let b = PixelBuffer(capacity: 320 * 320 * 3)
            try d.withUnsafeBytes { _ = try decoder.decode($0, into: b) }
            return b
        }
        let a = try decode(plain), b = try decode(annotated)
        XCTAssertEqual([b.width, b.height], [320, 320])
        func rgb(_ p: PixelBuffer, _ x: Int, _ y: Int) -> [Int] {
            let q = p.bytes.assumingMemoryBound(to: UInt8.self) + (y * p.width + x) * 3
            return [Int(q[0]), Int(q[1]), Int(q[2])]
        }
        func distance(_ x: Int, _ y: Int) -> Int { zip(rgb(a, x, y), rgb(b, x, y)).map { abs($0 - $1) }.reduce(0, +) }
        // Along the box edges the annotated copy is the class colour (pure red for class 0).
        for (x, y) in [(150, 80), (150, 159), (100, 120), (199, 120)] {
            let p = rgb(b, x, y)
            XCTAssertTrue(p[0] > 180 && p[1] < 90 && p[2] < 90, "edge pixel (\(x), \(y)) is \(p), not red")
        }
        XCTAssertGreaterThan([(150, 80), (150, 159), (100, 120), (199, 120)].map { distance($0.0, $0.1) }.min() ?? 0, 60)
        // Away from the box (beyond JPEG ringing) the two images agree.
        for (x, y) in [(20, 20), (300, 300), (150, 120), (40, 250)] {
            XCTAssertLessThan(distance(x, y), 40, "pixel (\(x), \(y)) changed away from the box")
        }
    }
}
