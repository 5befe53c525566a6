import Foundation
import XCTest
@testable import Imaging

final class JPEGCodecTests: XCTestCase {
    private func pattern(_ w: Int, _ h: Int, _ format: PixelFormat) -> PixelBuffer {
        let cn = format == .rgb24 ? 3 : 1
        let p = PixelBuffer(capacity: w * h * cn)
        p.width = w; p.height = h; p.format = format; p.byteCount = w * h * cn
        let b = p.bytes.assumingMemoryBound(to: UInt8.self)
        for y in 0..<h { for x in 0..<w { for c in 0..<cn { b[(y * w + x) * cn + c] = UInt8((x / 8 * 40 + y / 8 * 25 + c * 60) % 256) } } }
        return p
    }

    private func meanDiff(_ a: PixelBuffer, _ b: PixelBuffer) -> Double {
        XCTAssertEqual(a.byteCount, b.byteCount)
        var s = 0
        for i in 0..<min(a.byteCount, b.byteCount) { s += abs(Int(a.contents[i]) - Int(b.contents[i])) }
        return Double(s) / Double(max(1, a.byteCount))
    }

    func testRoundTripRGBAndGray() throws {
        let enc = try JPEGEncoder(), dec = try JPEGDecoder()
        for format in [PixelFormat.rgb24, .gray8] {
            let src = pattern(160, 96, format)
            let jpeg = try enc.encode(src, quality: 95)
            XCTAssertEqual(Array(jpeg.prefix(2)), [0xFF, 0xD8])
            let out = PixelBuffer(capacity: 160 * 96 * 3)
            let r = try jpeg.withUnsafeBytes { try dec.decode($0, into: out, format: format) }
            XCTAssertEqual(r.width, 160); XCTAssertEqual(r.height, 96); XCTAssertNil(r.warning)
            XCTAssertLessThan(meanDiff(src, out), format == .rgb24 ? 8 : 3, "\(format) (RGB is 4:2:0 subsampled)")
            let low = try enc.encode(src, quality: 20)
            XCTAssertLessThan(low.count, jpeg.count, "quality is applied")
        }
    }

    func testDCTScalingPicksTheSmallestSizeThatStaysLargeEnough() throws {
        let enc = try JPEGEncoder(), dec = try JPEGDecoder()
        let jpeg = try enc.encode(pattern(1920, 1080, .rgb24), quality: 80)
        let out = PixelBuffer(capacity: 1920 * 1080 * 3)
        // Power-of-two factors only (the SIMD ones): 1/2, not 3/8, for 640×360.
        let half = try jpeg.withUnsafeBytes { try dec.decode($0, into: out, minWidth: 640, minHeight: 360) }
        XCTAssertEqual([half.width, half.height, half.fullWidth], [960, 540, 1920])
        let quarter = try jpeg.withUnsafeBytes { try dec.decode($0, into: out, minWidth: 480, minHeight: 270) }
        XCTAssertEqual([quarter.width, quarter.height], [480, 270])
        let eighth = try jpeg.withUnsafeBytes { try dec.decode($0, into: out, minWidth: 200, minHeight: 100) }
        XCTAssertEqual([eighth.width, eighth.height], [240, 135])
        let full = try jpeg.withUnsafeBytes { try dec.decode($0, into: out, minWidth: 1700, minHeight: 100) }
        XCTAssertEqual([full.width, full.height], [1920, 1080])
    }

    func testTruncatedFrameDecodesWithWarningAndGarbageThrows() throws {
        let enc = try JPEGEncoder(), dec = try JPEGDecoder()
        let jpeg = try enc.encode(pattern(320, 240, .rgb24), quality: 90)
        let out = PixelBuffer(capacity: 320 * 240 * 3)
        let truncated = jpeg.prefix(jpeg.count / 2)
        let r = try truncated.withUnsafeBytes { try dec.decode($0, into: out) }
        XCTAssertNotNil(r.warning, "a truncated frame is a warning")
        let garbage = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        XCTAssertThrowsError(try garbage.withUnsafeBytes { try dec.decode($0, into: out) }) { e in
            guard case ImagingError.corruptJPEG = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Data().withUnsafeBytes { try dec.decode($0, into: out) })
        let small = PixelBuffer(capacity: 100)
        XCTAssertThrowsError(try jpeg.withUnsafeBytes { try dec.decode($0, into: small) }) { e in
            guard case ImagingError.tooLarge = e else { return XCTFail("\(e)") }
        }
        let empty = PixelBuffer(capacity: 16)
        empty.format = .rgb24
        XCTAssertThrowsError(try enc.encode(empty)) { e in XCTAssertEqual(e as? ImagingError, .zeroSize(width: 0, height: 0)) }
    }

    func testYUYVAndNV12ConvertWithBT601Levels() throws {
        let w = 4, h = 2
        let yuyv = PixelBuffer(capacity: w * h * 2)
        yuyv.width = w; yuyv.height = h; yuyv.format = .yuyv; yuyv.byteCount = w * h * 2
        // Row 0: white, black; row 1: pure red (Y 81, U 90, V 240).
        let bytes: [UInt8] = [235, 128, 235, 128, 16, 128, 16, 128, 81, 90, 81, 240, 81, 90, 81, 240]
        bytes.withUnsafeBytes { yuyv.bytes.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        let rgb = PixelBuffer(capacity: w * h * 3)
        try ColorConversion.toRGB(yuyv, into: rgb)
        let o = Array(rgb.contents)
        XCTAssertEqual(Array(o[0..<6]), [255, 255, 255, 255, 255, 255])
        XCTAssertEqual(Array(o[6..<12]), [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Int(o[12]), 255, accuracy: 2); XCTAssertEqual(Int(o[13]), 0, accuracy: 2); XCTAssertEqual(Int(o[14]), 0, accuracy: 2)

        let nv12 = PixelBuffer(capacity: 64)
        nv12.width = 2; nv12.height = 2; nv12.format = .nv12; nv12.byteCount = 6
        let n: [UInt8] = [235, 16, 126, 126, 128, 128]
        n.withUnsafeBytes { nv12.bytes.copyMemory(from: $0.baseAddress!, byteCount: n.count) }
        try ColorConversion.toRGB(nv12, into: rgb)
        XCTAssertEqual(Array(rgb.contents), [255, 255, 255, 0, 0, 0, 128, 128, 128, 128, 128, 128].enumerated().map { i, v in
            i >= 6 ? UInt8(Int(Double(126 - 16) * 255 / 219 + 0.5)) : v })
        let short = PixelBuffer(capacity: 8)
        short.width = 4; short.height = 2; short.format = .yuyv; short.byteCount = 8
        XCTAssertThrowsError(try ColorConversion.toRGB(short, into: rgb)) { e in
            XCTAssertEqual(e as? ImagingError, .shortData(expected: 16, got: 8))
        }
    }

    func testLetterboxGeometryAndInverseMapping() throws {
        let g = try Letterbox(sourceWidth: 1920, sourceHeight: 1080, targetWidth: 640, targetHeight: 640)
        XCTAssertEqual([g.resizedWidth, g.resizedHeight, g.padLeft, g.padTop], [640, 360, 0, 140])
        let b = g.sourceBox(x1: 10, y1: 150, x2: 630, y2: 700)
        XCTAssertEqual(b.x1, 30, accuracy: 1e-3); XCTAssertEqual(b.y1, 30, accuracy: 1e-3)
        XCTAssertEqual(b.x2, 1890, accuracy: 1e-3); XCTAssertEqual(b.y2, 1080, accuracy: 1e-3, "clipped to the frame")
        // Odd padding: Ultralytics puts the smaller half on top/left via round(d - 0.1).
        let odd = try Letterbox(sourceWidth: 640, sourceHeight: 427, targetWidth: 640, targetHeight: 640)
        XCTAssertEqual([odd.resizedHeight, odd.padTop], [427, 106])
        XCTAssertThrowsError(try Letterbox(sourceWidth: 0, sourceHeight: 10, targetWidth: 640, targetHeight: 640))
    }

    func testYUYVFrameLetterboxesLikeItsRGBConversion() throws {
        let w = 96, h = 64
        let yuyv = PixelBuffer(capacity: w * h * 2)
        yuyv.width = w; yuyv.height = h; yuyv.format = .yuyv; yuyv.byteCount = w * h * 2
        for i in 0..<(w * h * 2) { yuyv.bytes.storeBytes(of: UInt8(truncatingIfNeeded: i &* 37 &+ i / 97), toByteOffset: i, as: UInt8.self) }
        let rgb = PixelBuffer(capacity: w * h * 3)
        try ColorConversion.toRGB(yuyv, into: rgb)
        let pre = try FramePreprocessor()
        var a = [Float](repeating: 0, count: 3 * 64 * 64), b = a
        _ = try a.withUnsafeMutableBufferPointer { try pre.prepare(yuyv, targetWidth: 64, targetHeight: 64, into: $0.baseAddress!) }
        _ = try b.withUnsafeMutableBufferPointer { try pre.prepare(rgb, targetWidth: 64, targetHeight: 64, into: $0.baseAddress!) }
        XCTAssertEqual(a, b)
    }

    func testPNGLoaderReadsColourAndGrayAndRejectsGarbage() throws {
        let dir = try Fixtures.directory("imaging-letterbox")
        let reader = ImageFileReader()
        for (name, format, cn) in [("small-rgb", PixelFormat.rgb24, 3), ("small-gray", .gray8, 1)] {
            let p = try reader.read(path: dir.appendingPathComponent(name + ".png").path)
            XCTAssertEqual([p.width, p.height], [97, 61]); XCTAssertEqual(p.format, format)
            let raw = try Data(contentsOf: dir.appendingPathComponent(name + ".raw"))
            XCTAssertEqual(Data(p.contents), raw)
            XCTAssertEqual(p.byteCount, 97 * 61 * cn)
        }
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).png")
        var header: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        header += [UInt8](repeating: 7, count: 40)
        try Data(header).write(to: bad)
        defer { try? FileManager.default.removeItem(at: bad) }
        XCTAssertThrowsError(try reader.read(path: bad.path)) { e in XCTAssertTrue("\(e)".contains(bad.path), "\(e)") }
        XCTAssertThrowsError(try reader.read(path: "/nonexistent.jpg")) { e in XCTAssertTrue("\(e)".contains("/nonexistent.jpg")) }
    }
}
