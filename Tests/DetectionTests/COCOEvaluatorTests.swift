import Foundation
import XCTest
@testable import Detection

/// mAP equals pycocotools' COCOeval on generated cases (Scripts/fixtures/detection-coco.generate).
final class COCOEvaluatorTests: XCTestCase {
    struct Figures: Decodable {
        struct PerClass: Decodable { var class_id: Int; var ap50: Double?; var ap50_95: Double? }
        var map50: Double
        var map50_95: Double
        var per_class: [PerClass]
    }
    struct Case: Decodable {
        var name: String
        var images: [Int]
        var classes: Int
        var ground_truths: [Labelled]
        var detections: [Detected]
        var pycocotools: Figures
    }
    struct File: Decodable { var cases: [Case] }
    struct Labelled: Decodable { var image_id: Int; var class_id: Int; var box: [Float] }
    struct Detected: Decodable { var image_id: Int; var class_id: Int; var score: Float; var box: [Float] }
    static func box(_ b: [Float]) -> Box { Box(x1: b[0], y1: b[1], x2: b[2], y2: b[3]) }

    func testAgreesWithPycocotools() throws {
        let data = try Fixtures.data("generated/detection-coco/cases.json",
                                     generator: "Scripts/fixtures/detection-coco.generate")
        let file = try JSONDecoder().decode(File.self, from: data)
        XCTAssertGreaterThanOrEqual(file.cases.count, 6)
        for c in file.cases {
            let gts = c.ground_truths.map { GroundTruthBox(imageID: $0.image_id, classID: $0.class_id, box: Self.box($0.box)) }
            let dts = c.detections.map {
                ScoredBox(imageID: $0.image_id, classID: $0.class_id, score: $0.score, box: Self.box($0.box))
            }
            let report = COCOEvaluator.evaluate(groundTruths: gts, detections: dts,
                                                classCount: c.classes, imageIDs: c.images)
            // Exact up to summation order; the issue allows 0.005.
            XCTAssertEqual(report.map50, c.pycocotools.map50, accuracy: 1e-9, c.name)
            XCTAssertEqual(report.map50_95, c.pycocotools.map50_95, accuracy: 1e-9, c.name)
            for expected in c.pycocotools.per_class {
                let got = report.perClass[expected.class_id]
                XCTAssertEqual(got.ap50 == nil, expected.ap50 == nil, "\(c.name) class \(expected.class_id)")
                XCTAssertEqual(got.ap50 ?? -1, expected.ap50 ?? -1, accuracy: 1e-9, "\(c.name) class \(expected.class_id)")
                XCTAssertEqual(got.ap50_95 ?? -1, expected.ap50_95 ?? -1, accuracy: 1e-9, "\(c.name) class \(expected.class_id)")
            }
        }
    }

    func testPerfectDetectionsScoreOne() {
        let gts = [GroundTruthBox(imageID: 1, classID: 0, box: Box(x1: 10, y1: 10, x2: 50, y2: 40)),
                   GroundTruthBox(imageID: 2, classID: 1, box: Box(x1: 0, y1: 0, x2: 20, y2: 20))]
        let dts = gts.map { ScoredBox(imageID: $0.imageID, classID: $0.classID, score: 0.9, box: $0.box) }
        let report = COCOEvaluator.evaluate(groundTruths: gts, detections: dts, classCount: 3)
        // pycocotools divides by tp + fp + eps, so a perfect score is 1 - 2e-16.
        XCTAssertEqual(report.map50, 1, accuracy: 1e-12)
        XCTAssertEqual(report.map50_95, 1, accuracy: 1e-12)
        XCTAssertNil(report.perClass[2].ap50, "a class without labels is left out")
        XCTAssertEqual(report.precision, 1); XCTAssertEqual(report.recall, 1); XCTAssertEqual(report.f1, 1)
    }

    func testPrecisionRecallAtConfidence() {
        let box = Box(x1: 0, y1: 0, x2: 10, y2: 10), elsewhere = Box(x1: 100, y1: 100, x2: 110, y2: 110)
        let gts = [GroundTruthBox(imageID: 1, classID: 0, box: box),
                   GroundTruthBox(imageID: 1, classID: 0, box: Box(x1: 50, y1: 50, x2: 60, y2: 60))]
        let dts = [ScoredBox(imageID: 1, classID: 0, score: 0.8, box: box),          // TP
                   ScoredBox(imageID: 1, classID: 0, score: 0.6, box: elsewhere),    // FP
                   ScoredBox(imageID: 1, classID: 0, score: 0.1, box: Box(x1: 50, y1: 50, x2: 60, y2: 60))]  // below conf
        let report = COCOEvaluator.evaluate(groundTruths: gts, detections: dts, classCount: 1, confidence: 0.5)
        XCTAssertEqual(report.precision, 0.5)
        XCTAssertEqual(report.recall, 0.5)
        XCTAssertEqual(report.f1, 0.5)
        XCTAssertEqual(report.perClass[0].detections, 3)
    }
}

extension COCOEvaluatorTests {
    func testPerClassThresholdsForPrecisionRecall() {
        let a = Box(x1: 0, y1: 0, x2: 10, y2: 10), b = Box(x1: 50, y1: 50, x2: 60, y2: 60)
        let gts = [GroundTruthBox(imageID: 1, classID: 0, box: a), GroundTruthBox(imageID: 1, classID: 1, box: b)]
        let dts = [ScoredBox(imageID: 1, classID: 0, score: 0.4, box: a), ScoredBox(imageID: 1, classID: 1, score: 0.4, box: b)]
        let report = COCOEvaluator.evaluate(groundTruths: gts, detections: dts, classCount: 2, classThresholds: [0.3, 0.5])
        XCTAssertEqual(report.perClass[0].recall, 1)
        XCTAssertEqual(report.perClass[1].recall, 0, "0.4 is below class 1's threshold 0.5")
        XCTAssertEqual(report.recall, 0.5)
    }
}
