import Foundation
import XCTest
@testable import Capture
import CaptureTesting
@testable import Imaging

final class SyntheticSourceTests: XCTestCase {
    private func frames(seed: UInt64, count: Int, encoding: SyntheticSource.Encoding = .gray8) throws -> [(Data, [GroundTruthDefect])] {
        let clock = ManualCaptureClock()
        let source = try SyntheticSource(configuration: .init(cameraID: "syn", fps: 10, seed: seed, encoding: encoding,
                                                             frameCount: count), clock: clock)
        try source.start()
        var out: [(Data, [GroundTruthDefect])] = []
        while let f = try source.nextFrame(timeout: .seconds(1)) {
            out.append((Data(f.pixels.contents), f.groundTruth))
            f.release()
        }
        return out
    }

    func testSameSeedGivesSameFramesAndBoxes() throws {
        let a = try frames(seed: 42, count: 3), b = try frames(seed: 42, count: 3), c = try frames(seed: 43, count: 3)
        XCTAssertEqual(a.count, 3)
        for i in 0..<3 {
            XCTAssertEqual(a[i].0, b[i].0, "frame \(i) differs between runs with the same seed")
            XCTAssertEqual(a[i].1, b[i].1)
            XCTAssertNotEqual(a[i].0, c[i].0, "frame \(i) identical for different seeds")
        }
    }

    func testFramesLookLikeDeepPCBAndCarryPlausibleDefects() throws {
        let all = try frames(seed: 7, count: 12)
        var perClass = [Int](repeating: 0, count: 6)
        for (pixels, truth) in all {
            XCTAssertEqual(pixels.count, 640 * 640)
            let dark = pixels.reduce(0) { $0 + ($1 < 128 ? 1 : 0) }
            let binary = pixels.reduce(0) { $0 + ($1 == 0 || $1 == 255 ? 1 : 0) }
            XCTAssertEqual(Double(binary) / Double(pixels.count), 1, accuracy: 1e-9, "raw frames are binarized")
            XCTAssertGreaterThan(Double(dark) / Double(pixels.count), 0.03)
            XCTAssertLessThan(Double(dark) / Double(pixels.count), 0.7)
            XCTAssertGreaterThanOrEqual(truth.count, 2)
            for d in truth {
                perClass[d.classID] += 1
                XCTAssert(d.x1 >= 0 && d.y1 >= 0 && d.x2 <= 640 && d.y2 <= 640 && d.x1 < d.x2 && d.y1 < d.y2)
                XCTAssert((20...90).contains(d.x2 - d.x1) && (20...90).contains(d.y2 - d.y1), "box \(d)")
            }
        }
        XCTAssertTrue(perClass.allSatisfy { $0 > 0 }, "every DeepPCB class appears: \(perClass)")
    }

    func testJPEGFramesDecodeToTheConfiguredSize() throws {
        let all = try frames(seed: 3, count: 2, encoding: .jpeg(quality: 90))
        let decoder = try JPEGDecoder()
        for (jpeg, _) in all {
            let out = PixelBuffer(capacity: 640 * 640 * 3)
            let r = try jpeg.withUnsafeBytes { try decoder.decode($0, into: out, format: .gray8) }
            XCTAssertEqual(r.width, 640); XCTAssertEqual(r.height, 640); XCTAssertNil(r.warning)
        }
    }

    /// A golden-board camera shows one product: good parts are the clean board placed within the shift and
    /// rotation limits, defective ones carry defects whose boxes follow the placement.
    func testGoldenBoardFramesAreTheReferencePlacedWithDefectsOnSome() throws {
        let config = SyntheticSource.Configuration(cameraID: "syn", fps: nil, seed: 5, encoding: .gray8, frameCount: 40,
                                                   defectiveFraction: 0.25, goldenBoard: true, maxShift: 3, maxRotation: 0.5)
        let source = try SyntheticSource(configuration: config)
        let golden = try XCTUnwrap(source.reference)
        XCTAssertEqual(golden.format, .gray8); XCTAssertEqual(golden.byteCount, 640 * 640)
        XCTAssertNil(try SyntheticSource(configuration: .init(cameraID: "plain")).reference)
        try source.start()
        var good = 0, defective = 0
        let ref = [UInt8](UnsafeRawBufferPointer(start: golden.bytes, count: golden.byteCount))
        let other = try XCTUnwrap(SyntheticSource(configuration: .init(cameraID: "o", seed: 6, goldenBoard: true)).reference)
        let unrelated = [UInt8](UnsafeRawBufferPointer(start: other.bytes, count: other.byteCount))
        // Share of differing pixels in the central 240 × 240 (where 0.5° moves a pixel by under 1.1 px) at the
        // best integer shift within ±4 px.
        func mismatch(_ px: [UInt8], _ board: [UInt8]) -> Double {
            var best = Int.max, n = 0
            for dy in -4...4 { for dx in -4...4 {
                var diff = 0; n = 0
                for y in stride(from: 200, to: 440, by: 2) { for x in stride(from: 200, to: 440, by: 2) {
                    n += 1
                    if abs(Int(px[y * 640 + x]) - Int(board[(y - dy) * 640 + x - dx])) > 128 { diff += 1 }
                } }
                best = min(best, diff)
            } }
            return Double(best) / Double(n)
        }
        while let f = try source.nextFrame(timeout: .seconds(1)) {
            let px = [UInt8](f.pixels.contents)
            if f.groundTruth.isEmpty {
                good += 1
                XCTAssertLessThan(mismatch(px, ref), 0.08, "good part \(f.sequence) is not the golden board placed")
                if good == 1 { XCTAssertGreaterThan(mismatch(px, unrelated), 0.15, "the measure tells boards apart") }
            } else {
                defective += 1
            }
            for d in f.groundTruth {
                XCTAssertTrue(d.x1 >= 0 && d.y1 >= 0 && d.x2 <= 640 && d.y2 <= 640 && d.x1 < d.x2 && d.y1 < d.y2)
            }
            f.release()
        }
        XCTAssertEqual(good + defective, 40)
        XCTAssertGreaterThan(good, 20, "most parts are good at defective_fraction 0.25")
        XCTAssertGreaterThan(defective, 3)
    }
}
