import CJPEG
import Foundation
import XCTest
@testable import Imaging

/// The DCT-scaled path (Y, Cb, Cr planes letterboxed and colour-converted in one pass) against the packed-RGB
/// decode of the same JPEG at the same scale put through the exact resampler: the two differ only in how
/// chroma is upsampled and in rounding, so a plane laid out wrongly (offsets, padding rows, swapped Cb/Cr)
/// shows as a large difference.
final class PlanarLetterboxTests: XCTestCase {
    /// A smooth colour picture (gradients and slow waves), so upsampling filters agree and only bugs differ.
    private func smoothJPEG(width w: Int, height h: Int, subsampling: TJSAMP) throws -> Data {
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let fx = Double(x), fy = Double(y)
                rgb[(y * w + x) * 3] = UInt8(128 + 100 * sin(fx / 40) * cos(fy / 55))
                rgb[(y * w + x) * 3 + 1] = UInt8(30 + 200 * fx / Double(w))
                rgb[(y * w + x) * 3 + 2] = UInt8(128 + 90 * cos((fx + 2 * fy) / 70))
            }
        }
        guard let h0 = tjInitCompress() else { throw ImagingError.codecFailure("tjInitCompress") }
        defer { tjDestroy(h0) }
        var buf: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let pf = subsampling == TJSAMP_GRAY ? TJPF_GRAY : TJPF_RGB
        if subsampling == TJSAMP_GRAY { rgb = stride(from: 0, to: rgb.count, by: 3).map { rgb[$0 + 1] } }
        let rc = tjCompress2(h0, rgb, Int32(w), 0, Int32(h), Int32(pf.rawValue), &buf, &size,
                             Int32(subsampling.rawValue), 95, 0)
        defer { tjFree(buf) }
        guard rc == 0, let buf else { throw ImagingError.codecFailure("tjCompress2 failed") }
        return Data(bytes: buf, count: Int(size))
    }

    func testPlanesLetterboxLikeThePackedDecodeForEverySubsampling() throws {
        // Odd sizes: the Y plane is padded to whole chroma samples and the scaled size is odd.
        let (w, h) = (1283, 725)
        let cases: [(TJSAMP, String)] = [(TJSAMP_420, "4:2:0"), (TJSAMP_422, "4:2:2"), (TJSAMP_444, "4:4:4"),
                                         (TJSAMP_440, "4:4:0"), (TJSAMP_411, "4:1:1"), (TJSAMP_GRAY, "gray")]
        for (subsampling, name) in cases {
            let jpeg = try smoothJPEG(width: w, height: h, subsampling: subsampling)
            let frame = PixelBuffer(capacity: jpeg.count)
            jpeg.withUnsafeBytes { frame.bytes.copyMemory(from: $0.baseAddress!, byteCount: jpeg.count) }
            frame.format = .jpeg; frame.byteCount = jpeg.count
            var fast = [Float](repeating: -1, count: 3 * 640 * 640)
            let pre = try FramePreprocessor(dctScaling: true)
            let prepared = try fast.withUnsafeMutableBufferPointer {
                try pre.prepare(frame, targetWidth: 640, targetHeight: 640, into: $0.baseAddress!)
            }
            XCTAssertEqual([prepared.decodedWidth, prepared.decodedHeight], [642, 363], "\(name): a 1/2 DCT decode")
            // Reference: the same scale decoded to packed RGB (libjpeg's upsampling and colour conversion),
            // then OpenCV's bilinear arithmetic.
            let decoder = try JPEGDecoder()
            let rgb = PixelBuffer(capacity: w * h * 3)
            let g = prepared.geometry
            try jpeg.withUnsafeBytes {
                _ = try decoder.decode($0, into: rgb, format: subsampling == TJSAMP_GRAY ? .gray8 : .rgb24,
                                       minWidth: g.resizedWidth, minHeight: g.resizedHeight)
            }
            var exact = [Float](repeating: -2, count: 3 * 640 * 640)
            try exact.withUnsafeMutableBufferPointer { try LetterboxResampler().write(rgb, geometry: g, into: $0.baseAddress!) }
            var worst: Float = 0, sum: Float = 0
            for i in 0..<fast.count { let d = abs(fast[i] - exact[i]) * 255; worst = max(worst, d); sum += d }
            let mean = sum / Float(fast.count)
            // libjpeg-turbo replicates 4:1:1 chroma (no smooth upsampling for 4×), so there the reference itself
            // is blockier than our bilinear chroma.
            let (meanLimit, maxLimit): (Float, Float) = subsampling == TJSAMP_411 ? (1, 10) : (0.5, 6)
            XCTAssertLessThan(mean, meanLimit, "\(name): mean difference \(mean) grey levels")
            XCTAssertLessThan(worst, maxLimit, "\(name): max difference \(worst) grey levels")
            XCTAssertEqual(fast[0], Float(114) / 255, "\(name): padding")
        }
    }

    func testTinyFramesOnTheScaledPathStayInRange() throws {
        // One-row and one-column planes after DCT scaling and chroma subsampling.
        for (w, h) in [(16, 2), (2, 16), (9, 3), (33, 17)] {
            for subsampling in [TJSAMP_420, TJSAMP_GRAY, TJSAMP_411] {
                let jpeg = try smoothJPEG(width: w, height: h, subsampling: subsampling)
                let frame = PixelBuffer(capacity: jpeg.count)
                jpeg.withUnsafeBytes { frame.bytes.copyMemory(from: $0.baseAddress!, byteCount: jpeg.count) }
                frame.format = .jpeg; frame.byteCount = jpeg.count
                let target = max(1, max(w, h) / 2)
                var input = [Float](repeating: -1, count: 3 * target * target)
                let p = try input.withUnsafeMutableBufferPointer {
                    try FramePreprocessor().prepare(frame, targetWidth: target, targetHeight: target, into: $0.baseAddress!)
                }
                XCTAssertTrue(FramePreprocessor.usesScaledDecode(p.geometry), "\(w)x\(h)")
                XCTAssertTrue(input.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(w)x\(h) \(subsampling): every input value written, in 0...1")
            }
        }
    }

    func testFramesUnderTwiceTheInputTakeTheExactPath() throws {
        let pre = try FramePreprocessor(dctScaling: true)
        let jpeg = try smoothJPEG(width: 1000, height: 700, subsampling: TJSAMP_420)
        let frame = PixelBuffer(capacity: jpeg.count)
        jpeg.withUnsafeBytes { frame.bytes.copyMemory(from: $0.baseAddress!, byteCount: jpeg.count) }
        frame.format = .jpeg; frame.byteCount = jpeg.count
        var input = [Float](repeating: 0, count: 3 * 640 * 640)
        let p = try input.withUnsafeMutableBufferPointer { try pre.prepare(frame, targetWidth: 640, targetHeight: 640, into: $0.baseAddress!) }
        XCTAssertFalse(FramePreprocessor.usesScaledDecode(p.geometry))
        XCTAssertEqual([p.decodedWidth, p.decodedHeight], [1000, 700], "under twice the input: full decode")
    }
}
