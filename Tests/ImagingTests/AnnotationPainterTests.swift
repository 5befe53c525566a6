import Imaging
import XCTest

/// Labels and polygon outlines (annotated live frames): drawn where asked, clipped to the image, never a crash
/// for shapes partly or wholly outside it.
final class AnnotationPainterTests: XCTestCase {
    func image(_ w: Int, _ h: Int) -> PixelBuffer {
        let b = PixelBuffer(capacity: w * h * 3)
        b.width = w; b.height = h; b.format = .rgb24; b.byteCount = w * h * 3
        b.bytes.initializeMemory(as: UInt8.self, repeating: 10, count: w * h * 3)
        return b
    }

    func pixel(_ b: PixelBuffer, _ x: Int, _ y: Int) -> [UInt8] {
        let p = b.bytes.assumingMemoryBound(to: UInt8.self) + (y * b.width + x) * 3
        return [p[0], p[1], p[2]]
    }

    func testLabelFillsItsBoxWithBackgroundAndInk() throws {
        let b = image(80, 40)
        let red = BoxPainter.Color(r: 255, g: 0, b: 0)
        try LabelPainter.draw("a1", x: 5, y: 6, scale: 2, background: red, on: b)
        let (w, h) = LabelPainter.size(of: "a1", scale: 2)
        XCTAssertEqual(w, 2 * 6 * 2 + 2); XCTAssertEqual(h, 18)
        var background = 0, ink = 0
        for y in 6..<(6 + h) { for x in 5..<(5 + w) {
            let p = pixel(b, x, y)
            if p == [255, 0, 0] { background += 1 } else if p == [0, 0, 0] { ink += 1 } else { XCTFail("\(x),\(y): \(p)") }
        } }
        XCTAssertGreaterThan(ink, 20, "no glyph drawn"); XCTAssertGreaterThan(background, ink)
        XCTAssertEqual(pixel(b, 4, 6), [10, 10, 10]); XCTAssertEqual(pixel(b, 5 + w, 6), [10, 10, 10])
        // The top-left pixel of "A" (row 0 = 01110) is background, the one after it ink.
        XCTAssertEqual(pixel(b, 5 + 2, 6 + 2), [255, 0, 0]); XCTAssertEqual(pixel(b, 5 + 2 + 2, 6 + 2), [0, 0, 0])
        try LabelPainter.draw("clipped label", x: 70, y: 35, scale: 3, background: red, on: b)  // no crash
        try LabelPainter.draw("off", x: -500, y: -500, scale: 1, background: red, on: b)
    }

    func testPolygonOutlineAndDashes() throws {
        let b = image(40, 30)
        let green = BoxPainter.Color(r: 0, g: 200, b: 0)
        try PolygonPainter.draw(points: [(5, 5), (30, 5), (30, 20), (5, 20)], color: green, thickness: 1, on: b)
        XCTAssertEqual(pixel(b, 17, 5), [0, 200, 0]); XCTAssertEqual(pixel(b, 30, 12), [0, 200, 0])
        XCTAssertEqual(pixel(b, 17, 12), [10, 10, 10], "the inside stays")
        let c = image(40, 30)
        try PolygonPainter.draw(points: [(0, 10), (39, 10), (39, 29)], color: green, thickness: 1, dash: 4, on: c)
        XCTAssertEqual(pixel(c, 1, 10), [0, 200, 0]); XCTAssertEqual(pixel(c, 5, 10), [10, 10, 10], "a gap of the dash")
        try PolygonPainter.draw(points: [(-100, -100), (500, -50), (.nan, 3)], color: green, on: c)  // no crash
        try PolygonPainter.draw(points: [(-1e9, -1e9), (1e9, 1e9), (0, 1e9)], color: green, thickness: 4, on: c)
        let gray = PixelBuffer(capacity: 4); gray.width = 2; gray.height = 2; gray.format = .gray8; gray.byteCount = 4
        XCTAssertThrowsError(try PolygonPainter.draw(points: [(0, 0), (1, 1), (0, 1)], color: green, on: gray))
    }
}
