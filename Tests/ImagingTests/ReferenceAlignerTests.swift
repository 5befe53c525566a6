import Foundation
import XCTest
@testable import Imaging

/// DeepPCB boards for the reference tests: templates (golden boards) and tested images from ../shared.
enum DeepPCB {
    static let shared: URL = {
        if let s = ProcessInfo.processInfo.environment["INSPECTD_SHARED"] { return URL(fileURLWithPath: s) }
        return Fixtures.repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// The first `count` val templates' file names (sorted); skips the test when the folder is absent.
    static func names(_ count: Int) throws -> [String] {
        let dir = shared.appendingPathComponent("datasets/deeppcb/templates/val").path
        guard let all = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
            throw XCTSkip("DeepPCB templates missing at \(dir) (set INSPECTD_SHARED)")
        }
        let jpgs = all.filter { $0.hasSuffix(".jpg") }.sorted()
        guard jpgs.count >= count else { throw XCTSkip("fewer than \(count) DeepPCB templates in \(dir)") }
        return Array(jpgs.prefix(count))
    }

    /// A template or tested image decoded to gray (`kind` is "templates" or "images", `split` "val" or "train").
    static func gray(_ name: String, kind: String = "templates", split: String = "val") throws -> GrayImage {
        let path = shared.appendingPathComponent("datasets/deeppcb/\(kind)/\(split)/\(name)").path
        let file = try ImageFileReader().read(path: path)
        let out = PixelBuffer(capacity: 4096 * 4096)
        try JPEGDecoder().decode(file.contents, into: out, format: .gray8)
        return GrayImage(width: out.width, height: out.height,
                         pixels: Array(UnsafeBufferPointer(start: out.bytes.assumingMemoryBound(to: UInt8.self),
                                                           count: out.width * out.height)))
    }
}

/// An owned grayscale picture for tests.
struct GrayImage {
    var width: Int, height: Int
    var pixels: [UInt8]

    func withPlane<T>(_ body: (GrayPlane) throws -> T) throws -> T {
        try pixels.withUnsafeBufferPointer { try body(GrayPlane(base: $0.baseAddress!, width: width, height: height, stride: width)) }
    }

    /// The picture a camera would see if the board moved so that `t` (frame → reference) undoes it:
    /// frame(p) = self(t(p)), bilinear, edges replicated. Written independently of the aligner and composer.
    func warped(by t: RigidTransform) -> GrayImage {
        var out = [UInt8](repeating: 0, count: width * height)
        let c = cos(t.angle), s = sin(t.angle)
        for y in 0..<height {
            for x in 0..<width {
                // Continuous coordinates of the pixel centre, through t, back to index coordinates.
                let u = Double(x) + 0.5 - t.centerX, v = Double(y) + 0.5 - t.centerY
                let rx = c * u - s * v + t.centerX + t.dx - 0.5, ry = s * u + c * v + t.centerY + t.dy - 0.5
                let fx = min(max(rx, 0), Double(width - 1)), fy = min(max(ry, 0), Double(height - 1))
                let x0 = min(Int(fx), width - 2), y0 = min(Int(fy), height - 2)
                let ax = fx - Double(x0), ay = fy - Double(y0)
                func p(_ i: Int, _ j: Int) -> Double { Double(pixels[j * width + i]) }
                let top = p(x0, y0) * (1 - ax) + p(x0 + 1, y0) * ax
                let bottom = p(x0, y0 + 1) * (1 - ax) + p(x0 + 1, y0 + 1) * ax
                out[y * width + x] = UInt8((top * (1 - ay) + bottom * ay).rounded())
            }
        }
        return GrayImage(width: width, height: height, pixels: out)
    }
}

final class ReferenceAlignerTests: XCTestCase {
    private func transform(_ dx: Double, _ dy: Double, _ degrees: Double) -> RigidTransform {
        RigidTransform(dx: dx, dy: dy, angle: degrees * .pi / 180, centerX: 320, centerY: 320)
    }

    func testRecoversKnownShiftsAndRotationsWithinHalfAPixelAndATenthOfADegree() throws {
        let cases: [(Double, Double, Double)] = [
            (0, 0, 0), (20, 0, 0), (0, -20, 0), (-13.4, 14.7, 1.2), (7.25, -3.5, -2), (0.3, 0.6, 0.5),
            (-2.6, -1.1, 2), (14, 14, -1.5), (-0.4, 0.2, -0.05), (5.5, 9.75, 0.8),
        ]
        var worstShift = 0.0, worstAngle = 0.0
        for name in try DeepPCB.names(4) {
            let reference = try DeepPCB.gray(name)
            let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
            for (dx, dy, deg) in cases {
                let truth = transform(dx, dy, deg)
                let frame = reference.warped(by: truth)
                let outcome = try frame.withPlane { try aligner.align($0) }
                guard let a = outcome.alignment else {
                    XCTFail("\(name) \(truth): refused: \(outcome.refusal!)"); continue
                }
                let e = hypot(a.transform.dx - dx, a.transform.dy - dy), ea = abs(a.transform.degrees - deg)
                worstShift = max(worstShift, e); worstAngle = max(worstAngle, ea)
                XCTAssertLessThan(e, 0.5, "\(name) truth \(truth), found \(a.transform)")
                XCTAssertLessThan(ea, 0.1, "\(name) truth \(truth), found \(a.transform)")
                XCTAssertGreaterThan(a.quality, 0.8, "\(name) \(truth)")
            }
        }
        print(String(format: "worst error over 4 boards × \(cases.count) motions: %.3f px, %.4f°", worstShift, worstAngle))
    }

    /// Boards of other products: DeepPCB's train templates of other groups than the val boards (val tiles of one
    /// group may overlap each other, which is a shifted view of the same board, not another one).
    func testAnotherBoardIsRefusedAsNotMatching() throws {
        let names = try DeepPCB.names(4)
        let trainDir = DeepPCB.shared.appendingPathComponent("datasets/deeppcb/templates/train").path
        guard let train = try? FileManager.default.contentsOfDirectory(atPath: trainDir) else {
            throw XCTSkip("DeepPCB train templates missing at \(trainDir)")
        }
        // One template from each group but the val boards' (the first 5 digits of the name are the group).
        var groups: [String: String] = [:]
        for n in train.sorted() where n.hasSuffix(".jpg") && !n.hasPrefix(String(names[0].prefix(5))) {
            if groups[String(n.prefix(5))] == nil { groups[String(n.prefix(5))] = n }
        }
        let others = groups.values.sorted()
        guard others.count >= 3 else { throw XCTSkip("fewer than 3 other DeepPCB groups in \(trainDir)") }
        var worst = -1.0
        for name in names {
            let reference = try DeepPCB.gray(name)
            let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
            for other in others {
                let board = try DeepPCB.gray(other, kind: "templates", split: "train")
                let outcome = try board.withPlane { try aligner.align($0) }
                guard case .refused(let refusal) = outcome, case .doesNotMatch(let q, _) = refusal else {
                    XCTFail("\(other) against \(name): \(outcome)"); continue
                }
                XCTAssertEqual(refusal.code, "does_not_match_reference")
                worst = max(worst, q)
            }
        }
        print("highest match of another board: \(worst)")
    }

    func testBlankFrameIsRefusedAsTooLittleStructure() throws {
        let reference = try DeepPCB.gray(try DeepPCB.names(1)[0])
        let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
        for value: UInt8 in [0, 128, 255] {
            let blank = GrayImage(width: 640, height: 640, pixels: [UInt8](repeating: value, count: 640 * 640))
            let outcome = try blank.withPlane { try aligner.align($0) }
            guard case .refused(let r) = outcome, case .tooLittleStructure = r else {
                XCTFail("blank \(value): \(outcome)"); continue
            }
            XCTAssertEqual(r.code, "too_little_structure")
        }
        // A smooth illumination ramp has brightness but no edges either.
        var ramp = GrayImage(width: 640, height: 640, pixels: [])
        ramp.pixels = (0..<(640 * 640)).map { UInt8(($0 % 640) * 255 / 639) }
        let outcome = try ramp.withPlane { try aligner.align($0) }
        guard case .refused(.tooLittleStructure) = outcome else { return XCTFail("ramp: \(outcome)") }
    }

    func testShiftBeyondTheLimitIsRefusedWithThatReason() throws {
        let reference = try DeepPCB.gray(try DeepPCB.names(2)[1])
        let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
        for (dx, dy) in [(30.0, 0.0), (-18.0, -24.0), (0, 45)] {
            let frame = reference.warped(by: transform(dx, dy, 0.5))
            let outcome = try frame.withPlane { try aligner.align($0) }
            guard case .refused(.shiftBeyondLimit(let shift, let limit)) = outcome else {
                XCTFail("shift (\(dx), \(dy)): \(outcome)"); continue
            }
            XCTAssertEqual(shift, hypot(dx, dy), accuracy: 0.5)
            XCTAssertEqual(limit, 20)
        }
        // The same shift passes under a wider limit.
        let wide = try reference.withPlane { try ReferenceAligner(reference: $0, settings: AlignmentSettings(maxShift: 40)) }
        let outcome = try reference.warped(by: transform(30, 0, 0.5)).withPlane { try wide.align($0) }
        XCTAssertEqual(outcome.alignment?.transform.dx ?? 0, 30, accuracy: 0.5)
    }

    func testRotationBeyondTheLimitIsRefusedWithThatReason() throws {
        let reference = try DeepPCB.gray(try DeepPCB.names(3)[2])
        let aligner = try reference.withPlane {
            try ReferenceAligner(reference: $0, settings: AlignmentSettings(maxRotationDegrees: 1))
        }
        let outcome = try reference.warped(by: transform(3, -2, 1.8)).withPlane { try aligner.align($0) }
        guard case .refused(.rotationBeyondLimit(let deg, let limit)) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(deg, 1.8, accuracy: 0.1)
        XCTAssertEqual(limit, 1)
    }

    func testTestedImagesAlignToTheirOwnTemplatesWithATinyTransform() throws {
        var worstShift = 0.0, worstAngle = 0.0, lowest = 1.0
        for name in try DeepPCB.names(10) {
            let reference = try DeepPCB.gray(name), tested = try DeepPCB.gray(name, kind: "images")
            let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
            let outcome = try tested.withPlane { try aligner.align($0) }
            guard let a = outcome.alignment else { XCTFail("\(name): \(outcome)"); continue }
            // The dataset's pairs are registered to within 2.1 px (its README, by OpenCV's phase correlation).
            XCTAssertLessThan(a.transform.shift, 2.5, "\(name): \(a.transform)")
            XCTAssertLessThan(abs(a.transform.degrees), 0.1, "\(name): \(a.transform)")
            XCTAssertGreaterThan(a.quality, 0.8, "\(name)")
            worstShift = max(worstShift, a.transform.shift); worstAngle = max(worstAngle, abs(a.transform.degrees))
            lowest = min(lowest, a.quality)
        }
        print(String(format: "tested vs own template, 10 pairs: largest shift %.2f px, rotation %.3f°, lowest quality %.3f",
                     worstShift, worstAngle, lowest))
    }

    /// Sparse boards (a few pads on blank laminate) and boards of long parallel tracks: on these DeepPCB training
    /// pairs the coarse phase-correlation peak is a wrong one, and before the second refinement from no motion
    /// every one was refused as "does not match" (quality 0.00 to 0.44) although each is its own template a
    /// pixel or two away (OpenCV's phase correlation: 0.3 to 1.2 px). 20085112 (0.3 px away) was refused as
    /// "shifted 32.6 px" until the second refinement also followed a shift refusal.
    func testSparseAndStripedBoardsAlignToTheirOwnTemplates() throws {
        _ = try DeepPCB.names(1)  // skips without the dataset
        for name in ["00041018.jpg", "13000054.jpg", "20085021.jpg", "20085255.jpg", "20085112.jpg"] {
            let reference = try DeepPCB.gray(name, split: "train"), tested = try DeepPCB.gray(name, kind: "images", split: "train")
            let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
            let outcome = try tested.withPlane { try aligner.align($0) }
            guard let a = outcome.alignment else { XCTFail("\(name): \(outcome)"); continue }
            XCTAssertLessThan(a.transform.shift, 3, "\(name): \(a.transform)")
            XCTAssertLessThan(abs(a.transform.degrees), 0.1, "\(name): \(a.transform)")
        }
        // 13000111 is vertical tracks edge to edge: along them every dy matches equally well (the mean absolute
        // difference is 0.97 grey levels from dy −12 to +12 px), so only dx and the rotation are determined. It
        // was refused as "shifted 118 px"; OpenCV's phase correlation reads it as 137 px.
        let reference = try DeepPCB.gray("13000111.jpg", split: "train")
        let tested = try DeepPCB.gray("13000111.jpg", kind: "images", split: "train")
        let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
        let outcome = try tested.withPlane { try aligner.align($0) }
        let a = try XCTUnwrap(outcome.alignment, "13000111: \(outcome)")
        XCTAssertLessThan(abs(a.transform.dx), 1, "\(a.transform)")
        XCTAssertLessThan(abs(a.transform.degrees), 0.15, "\(a.transform)")
    }

    func testSizeMismatchAndBadSettingsAreClearErrors() throws {
        let reference = try DeepPCB.gray(try DeepPCB.names(1)[0])
        let aligner = try reference.withPlane { try ReferenceAligner(reference: $0) }
        let small = GrayImage(width: 320, height: 640, pixels: [UInt8](repeating: 9, count: 320 * 640))
        XCTAssertThrowsError(try small.withPlane { try aligner.align($0) }) { error in
            XCTAssertEqual(error as? ReferenceError,
                           .sizeMismatch(frameWidth: 320, frameHeight: 640, referenceWidth: 640, referenceHeight: 640))
            XCTAssertTrue("\(error)".contains("must be the same size"), "\(error)")
        }
        XCTAssertThrowsError(try reference.withPlane {
            try ReferenceAligner(reference: $0, settings: AlignmentSettings(maxRotationDegrees: -1))
        })
        let blank = GrayImage(width: 640, height: 640, pixels: [UInt8](repeating: 40, count: 640 * 640))
        XCTAssertThrowsError(try blank.withPlane { try ReferenceAligner(reference: $0) }) { error in
            guard case .blankReference = error as? ReferenceError else { return XCTFail("\(error)") }
        }
    }
}
