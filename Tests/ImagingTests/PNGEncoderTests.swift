import Foundation
import Imaging
import XCTest

/// PNGs we write decode (through libpng's reader) to exactly the pixels written.
final class PNGEncoderTests: XCTestCase {
    func pattern(_ w: Int, _ h: Int, _ format: PixelFormat, channels: Int) -> PixelBuffer {
        let b = PixelBuffer(capacity: w * h * channels)
        b.width = w; b.height = h; b.format = format; b.byteCount = w * h * channels
        let p = b.bytes.assumingMemoryBound(to: UInt8.self)
        for i in 0..<(w * h * channels) { p[i] = UInt8(truncatingIfNeeded: i &* 37 &+ (i / 7) &* 11) }
        return b
    }

    func testRoundTripRGBAndGray() throws {
        for (format, cn) in [(PixelFormat.rgb24, 3), (.gray8, 1)] {
            let original = pattern(37, 23, format, channels: cn)
            let png = try PNGEncoder.encode(original)
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
            let decoded = try png.withUnsafeBytes { try ImageFileReader.decodePNG($0) }
            XCTAssertEqual(decoded.format, format)
            XCTAssertEqual([decoded.width, decoded.height], [37, 23])
            XCTAssertEqual(Data(decoded.contents), Data(original.contents), "\(format) pixels survive")
        }
    }

    func testRejectsWhatItCannotWrite() {
        let jpeg = PixelBuffer(capacity: 16)
        jpeg.format = .jpeg; jpeg.width = 2; jpeg.height = 2; jpeg.byteCount = 16
        XCTAssertThrowsError(try PNGEncoder.encode(jpeg)) { XCTAssertTrue("\($0)".contains("jpeg"), "\($0)") }
        let short = pattern(8, 8, .rgb24, channels: 3)
        short.byteCount = 10
        XCTAssertThrowsError(try PNGEncoder.encode(short)) { XCTAssertEqual($0 as? ImagingError, .shortData(expected: 192, got: 10)) }
    }
}
