import Imaging
import XCTest

/// Box outlines: drawn on the box's edges only, `thickness` wide, clipped to the image.
final class BoxPainterTests: XCTestCase {
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

    func testOutlineIsDrawnOnTheEdgesOnly() throws {
        let b = image(20, 16)
        let red = BoxPainter.Color(r: 255, g: 0, b: 0)
        try BoxPainter.draw(x1: 4, y1: 3, x2: 14, y2: 12, color: red, thickness: 2, on: b)
        let painted = [UInt8]([255, 0, 0]), background = [UInt8]([10, 10, 10])
        for (x, y) in [(4, 3), (13, 3), (4, 11), (13, 11), (8, 4), (5, 7), (12, 7), (8, 10)] {
            XCTAssertEqual(pixel(b, x, y), painted, "edge pixel (\(x), \(y))")
        }
        for (x, y) in [(3, 3), (14, 3), (4, 2), (4, 12), (8, 7), (6, 5), (11, 9)] {
            XCTAssertEqual(pixel(b, x, y), background, "pixel (\(x), \(y)) is not on the outline")
        }
    }

    func testBoxesAreClippedToTheImage() throws {
        let b = image(10, 10)
        let c = BoxPainter.color(forClass: 1)
        try BoxPainter.draw(x1: -5, y1: -5, x2: 30, y2: 4, color: c, thickness: 3, on: b)
        XCTAssertEqual(pixel(b, 0, 0), [c.r, c.g, c.b])
        XCTAssertEqual(pixel(b, 9, 3), [c.r, c.g, c.b])
        XCTAssertEqual(pixel(b, 5, 9), [10, 10, 10])
        try BoxPainter.draw(x1: 50, y1: 50, x2: 60, y2: 60, color: c, on: b)   // outside: nothing, no crash
        try BoxPainter.draw(x1: .nan, y1: 0, x2: 5, y2: 5, color: c, on: b)
    }

    func testRejectsNonRGBBuffers() {
        let b = image(4, 4)
        b.format = .gray8
        XCTAssertThrowsError(try BoxPainter.draw(x1: 0, y1: 0, x2: 2, y2: 2, color: BoxPainter.palette[0], on: b))
    }
}
