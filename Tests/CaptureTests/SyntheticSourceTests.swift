import Foundation
import XCTest
@testable import Capture
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
            source.recycle(f.pixels)
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

    /// With INSPECTD_SYNTHETIC_DUMP=DIR, writes frames and YOLO labels for Scripts/model-tools/check-synthetic.py.
    func testDumpFramesForModelCheck() throws {
        guard let dir = ProcessInfo.processInfo.environment["INSPECTD_SYNTHETIC_DUMP"] else { return }
        let count = Int(ProcessInfo.processInfo.environment["INSPECTD_SYNTHETIC_COUNT"] ?? "") ?? 50
        try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/labels", withIntermediateDirectories: true)
        let all = try frames(seed: 2026, count: count, encoding: .jpeg(quality: 90))
        for (i, (jpeg, truth)) in all.enumerated() {
            let name = String(format: "synthetic-%04d", i)
            try jpeg.write(to: URL(fileURLWithPath: "\(dir)/images/\(name).jpg"))
            let lines = truth.map { d in
                String(format: "%d %.6f %.6f %.6f %.6f", d.classID, (d.x1 + d.x2) / 1280, (d.y1 + d.y2) / 1280,
                       (d.x2 - d.x1) / 640, (d.y2 - d.y1) / 640)
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/labels/\(name).txt", atomically: true, encoding: .utf8)
        }
    }
}
