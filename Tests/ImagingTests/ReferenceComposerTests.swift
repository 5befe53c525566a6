import Foundation
import XCTest
@testable import Imaging

final class ReferenceComposerTests: XCTestCase {
    private let lut: [Float] = (0..<256).map { Float($0) / 255 }

    private func compose(_ composer: ReferenceComposer, _ frame: GrayImage, _ t: RigidTransform) throws
        -> (ReferenceComposer.Composed, [Float]) {
        var input = [Float](repeating: -1, count: composer.inputCount)
        let c = try frame.withPlane { plane in
            try input.withUnsafeMutableBufferPointer {
                try composer.compose(frame: plane, transform: t, into: $0.baseAddress!, count: $0.count)
            }
        }
        return (c, input)
    }

    func testIdentityCopiesTheFramesPixelsAndChannelTwoIsTheAbsoluteDifference() throws {
        let name = try DeepPCB.names(1)[0]
        let reference = try DeepPCB.gray(name), tested = try DeepPCB.gray(name, kind: "images")
        let composer = try reference.withPlane { try ReferenceComposer(reference: $0) }
        let (c, input) = try compose(composer, tested, .identity(width: 640, height: 640))
        XCTAssertFalse(c.resampled)
        XCTAssertEqual(c.geometry.scale, 1)
        let n = 640 * 640
        var differing = 0, bad = [0, 0, 0]
        for i in 0..<n {
            if input[i] != lut[Int(tested.pixels[i])] { bad[0] += 1 }  // ch0 is the frame, not resampled
            if input[n + i] != lut[Int(reference.pixels[i])] { bad[1] += 1 }  // ch1 is the reference
            if input[2 * n + i] != abs(input[i] - input[n + i]) { bad[2] += 1 }
            if input[2 * n + i] != 0 { differing += 1 }
        }
        XCTAssertEqual(bad, [0, 0, 0], "pixels differing from frame, reference, |difference|")
        XCTAssertGreaterThan(differing, 100, "a tested image differs from its template (defects, outlines)")
    }

    func testWholePixelShiftIsCopiedAndOtherMotionsAreResampled() throws {
        let name = try DeepPCB.names(2)[1]
        let reference = try DeepPCB.gray(name), tested = try DeepPCB.gray(name, kind: "images")
        let composer = try reference.withPlane { try ReferenceComposer(reference: $0) }
        // Within the tolerance of a whole-pixel shift: copied, shifted by (−3, +2) (frame → reference is +3, −2).
        let near = RigidTransform(dx: 3.2, dy: -1.85, angle: 0.01 * .pi / 180, centerX: 320, centerY: 320)
        XCTAssertLessThan(ReferenceComposer.copyError(near, width: 640, height: 640), 0.4)
        let (c, input) = try compose(composer, tested, near)
        XCTAssertFalse(c.resampled)
        XCTAssertEqual([c.copyShiftX, c.copyShiftY], [-3, 2])
        let n = 640 * 640
        for (x, y) in [(3, 0), (100, 200), (639, 637), (320, 320)] {
            XCTAssertEqual(input[y * 640 + x], lut[Int(tested.pixels[(y + 2) * 640 + x - 3])], "(\(x), \(y))")
        }
        // Where the frame does not reach (first 3 columns, last 2 rows) the reference shows: no difference.
        for (x, y) in [(0, 10), (2, 300), (400, 638), (639, 639)] {
            XCTAssertEqual(input[y * 640 + x], lut[Int(reference.pixels[y * 640 + x])], "(\(x), \(y))")
            XCTAssertEqual(input[2 * n + y * 640 + x], 0)
        }
        // Any real sub-pixel shift or rotation resamples, and channel 2 stays |ch0 − ch1| exactly.
        for t in [RigidTransform(dx: 0.45, dy: 0, angle: 0, centerX: 320, centerY: 320),
                  RigidTransform(dx: 0, dy: 0, angle: 0.06 * .pi / 180, centerX: 320, centerY: 320)] {
            let (c2, input2) = try compose(composer, tested, t)
            XCTAssertTrue(c2.resampled, "\(t)")
            for i in stride(from: 0, to: n, by: 7) { XCTAssertEqual(input2[2 * n + i], abs(input2[i] - input2[n + i])) }
        }
    }

    func testWarpUndoesAKnownMotion() throws {
        let name = try DeepPCB.names(3)[2]
        let reference = try DeepPCB.gray(name)
        let composer = try reference.withPlane { try ReferenceComposer(reference: $0) }
        let truth = RigidTransform(dx: -6.3, dy: 4.6, angle: 1.4 * .pi / 180, centerX: 320, centerY: 320)
        let frame = reference.warped(by: truth)  // the board as the camera sees it
        let (c, aligned) = try compose(composer, frame, truth)
        let (_, unaligned) = try compose(composer, frame, .identity(width: 640, height: 640))
        XCTAssertTrue(c.resampled)
        // Mean difference over the interior (away from the strip the frame does not cover): interpolating twice
        // blurs edges a little, but the boards coincide; unaligned, every edge shows.
        func meanDifference(_ input: [Float]) -> Double {
            var sum = 0.0
            for y in 40..<600 { for x in 40..<600 { sum += Double(input[2 * 640 * 640 + y * 640 + x]) } }
            return sum / Double(560 * 560) * 255
        }
        let a = meanDifference(aligned), u = meanDifference(unaligned)
        print(String(format: "mean |frame − reference|: aligned %.2f, unaligned %.2f grey levels", a, u))
        XCTAssertLessThan(a, 6)
        XCTAssertGreaterThan(u, 4 * a)
    }

    func testBoxesMapBackToTheFrame() throws {
        let plane = GrayImage(width: 640, height: 640, pixels: [UInt8](repeating: 50, count: 640 * 640))
        let composer = try plane.withPlane { try ReferenceComposer(reference: $0) }
        let t = RigidTransform(dx: 12.5, dy: -7.25, angle: 1.5 * .pi / 180, centerX: 320, centerY: 320)
        let (c, _) = try compose(composer, plane, t)
        // Points: frame → reference → model input (identity letterbox) → back.
        for (x, y) in [(100.0, 200.0), (320.0, 320.0), (600.5, 33.25)] {
            let r = t.referencePoint(fromFrame: x, y)
            let b = c.frameBox(x1: Float(r.x), y1: Float(r.y), x2: Float(r.x), y2: Float(r.y))
            XCTAssertEqual(Double(b.x1), x, accuracy: 1e-3); XCTAssertEqual(Double(b.y1), y, accuracy: 1e-3)
            XCTAssertEqual(Double(b.x2), x, accuracy: 1e-3); XCTAssertEqual(Double(b.y2), y, accuracy: 1e-3)
        }
        // A box: its reference image's corners' bounding box comes back as a box that holds the original.
        let box = (200.0, 150.0, 260.0, 190.0)
        let corners = [t.referencePoint(fromFrame: box.0, box.1), t.referencePoint(fromFrame: box.2, box.1),
                       t.referencePoint(fromFrame: box.0, box.3), t.referencePoint(fromFrame: box.2, box.3)]
        let back = c.frameBox(x1: Float(corners.map(\.x).min()!), y1: Float(corners.map(\.y).min()!),
                              x2: Float(corners.map(\.x).max()!), y2: Float(corners.map(\.y).max()!))
        XCTAssertLessThanOrEqual(Double(back.x1), box.0); XCTAssertLessThanOrEqual(Double(back.y1), box.1)
        XCTAssertGreaterThanOrEqual(Double(back.x2), box.2); XCTAssertGreaterThanOrEqual(Double(back.y2), box.3)
        // Rotating twice by 1.5° widens a 60×40 box by at most 2·(40 + 60)·sin 1.5°.
        let widening: Double = 200 * sin(1.5 * Double.pi / 180)
        XCTAssertLessThan(Double(back.x2 - back.x1), 60 + widening + 1e-3)
        // Clamped to the frame: the reference's bottom-left corner comes from outside it (x −4.9, y 655.9);
        // by hand, the other corners land at x 25.1 and 26.2 (x2) and y 615.9 and 615.07 (y1).
        let edge = c.frameBox(x1: 0, y1: 600, x2: 30, y2: 640)
        XCTAssertEqual(edge.x1, 0); XCTAssertEqual(edge.y2, 640)
        XCTAssertEqual(edge.x2, 26.2, accuracy: 0.1); XCTAssertEqual(edge.y1, 615.07, accuracy: 0.05)
        // Pure translation: exact round trip.
        let shift = RigidTransform(dx: 3, dy: -4, angle: 0, centerX: 320, centerY: 320)
        let (cs, _) = try compose(composer, plane, shift)
        let s = cs.frameBox(x1: 103, y1: 196, x2: 153, y2: 246)
        XCTAssertEqual([s.x1, s.y1, s.x2, s.y2], [100, 200, 150, 250])
    }

    func testLetterboxedFrameKeepsGeometryPaddingAndTheDifference() throws {
        // 1280×960 → 640×640: scale 1/2, picture 640×480 at pad top 80, like the single-image letterbox.
        let w = 1280, h = 960
        let reference = GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { UInt8(($0 % w / 16 + $0 / w / 16) % 2 * 180 + 20) })
        let frame = GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { UInt8(($0 % w / 16 + $0 / w / 12) % 2 * 160 + 40) })
        let composer = try reference.withPlane { try ReferenceComposer(reference: $0) }
        for t in [RigidTransform.identity(width: w, height: h),
                  RigidTransform(dx: 2.5, dy: 1, angle: 0.3 * .pi / 180, centerX: 640, centerY: 480)] {
            let (c, input) = try compose(composer, frame, t)
            XCTAssertEqual([c.geometry.resizedWidth, c.geometry.resizedHeight, c.geometry.padLeft, c.geometry.padTop],
                           [640, 480, 0, 80])
            let n = 640 * 640, pad = Float(114) / 255
            for ch in 0..<3 {
                XCTAssertEqual(input[ch * n + 10 * 640 + 5], pad); XCTAssertEqual(input[ch * n + 630 * 640 + 600], pad)
            }
            var maxDiff: Float = 0
            for i in (80 * 640)..<(560 * 640) {
                XCTAssertEqual(input[2 * n + i], abs(input[i] - input[n + i]))
                maxDiff = max(maxDiff, input[2 * n + i])
            }
            XCTAssertGreaterThan(maxDiff, 0.3, "frame and reference differ")
            // A box in the model input maps back through the letterbox (×2, −80 rows) and the motion.
            let b = c.frameBox(x1: 100, y1: 180, x2: 140, y2: 200)
            let expected = t.frameBox(fromReference: 200, 200, 280, 240, frameWidth: w, frameHeight: h)
            XCTAssertEqual(Double(b.x1), expected.x1, accuracy: 1e-3); XCTAssertEqual(Double(b.y2), expected.y2, accuracy: 1e-3)
        }
    }

    func testLumaOfColourFramesAndSizeErrors() throws {
        let converter = try LumaConverter()
        let rgb = PixelBuffer(capacity: 4 * 2 * 3)
        let values: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 90, 255, 255, 255, 0, 0, 0, 1, 2, 3, 128, 64, 32]
        for (i, v) in values.enumerated() { rgb.bytes.storeBytes(of: v, toByteOffset: i, as: UInt8.self) }
        rgb.width = 4; rgb.height = 2; rgb.format = .rgb24; rgb.byteCount = 24
        let y = try converter.luma(of: rgb)
        let got = (0..<8).map { y.base[$0] }
        let expected: [UInt8] = (0..<8).map { (i: Int) -> UInt8 in
            let r = Double(values[3 * i]), g = Double(values[3 * i + 1]), b = Double(values[3 * i + 2])
            let luma: Double = 0.299 * r + 0.587 * g + 0.114 * b
            return UInt8(luma.rounded())
        }
        XCTAssertEqual(got, expected)

        let reference = GrayImage(width: 64, height: 48, pixels: [UInt8](repeating: 7, count: 64 * 48))
        let composer = try reference.withPlane { try ReferenceComposer(reference: $0, targetWidth: 64, targetHeight: 64) }
        let wrong = GrayImage(width: 48, height: 64, pixels: [UInt8](repeating: 7, count: 64 * 48))
        var input = [Float](repeating: 0, count: composer.inputCount)
        XCTAssertThrowsError(try wrong.withPlane { p in
            try input.withUnsafeMutableBufferPointer {
                try composer.compose(frame: p, transform: .identity(width: 48, height: 64), into: $0.baseAddress!, count: $0.count)
            }
        }) { error in
            XCTAssertEqual(error as? ReferenceError,
                           .sizeMismatch(frameWidth: 48, frameHeight: 64, referenceWidth: 64, referenceHeight: 48))
        }
        XCTAssertThrowsError(try reference.withPlane { p in
            try input.withUnsafeMutableBufferPointer {
                try composer.compose(frame: p, transform: .identity(width: 64, height: 48), into: $0.baseAddress!, count: 100)
            }
        }) { error in XCTAssertEqual(error as? ReferenceError, .outputTooSmall(needed: 3 * 64 * 64, got: 100)) }
    }
}
