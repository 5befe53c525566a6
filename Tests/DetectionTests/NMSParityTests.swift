import Foundation
import XCTest
@testable import Detection

/// Kept indices equal torchvision's on committed cases (Scripts/model-tools/make-nms-fixtures.py).
final class NMSParityTests: XCTestCase {
    struct Case: Decodable {
        var name: String
        var iou: Double
        var class_agnostic: Bool
        var boxes: [Float]
        var scores: [Float]
        var classes: [Int]
        var keep: [Int]
    }
    struct File: Decodable { var cases: [Case] }

    func testKeptIndicesMatchTorchvision() throws {
        let data = try Fixtures.data("detection/nms-cases.json", generator: "Scripts/model-tools/make-nms-fixtures.py")
        let file = try JSONDecoder().decode(File.self, from: data)
        XCTAssertGreaterThan(file.cases.count, 15)
        XCTAssertTrue(file.cases.contains { $0.name.hasPrefix("deeppcb-") }, "real candidate sets are part of the fixture")
        for c in file.cases {
            let boxes = stride(from: 0, to: c.boxes.count, by: 4).map {
                Box(x1: c.boxes[$0], y1: c.boxes[$0 + 1], x2: c.boxes[$0 + 2], y2: c.boxes[$0 + 3])
            }
            let kept = NonMaxSuppression.keep(boxes: boxes, scores: c.scores, classIDs: c.classes,
                                              iouThreshold: c.iou, classAgnostic: c.class_agnostic)
            XCTAssertEqual(kept, c.keep, c.name)
        }
    }

    func testTiesKeepTheLowerIndex() {
        let box = Box(x1: 0, y1: 0, x2: 10, y2: 10)
        let kept = NonMaxSuppression.keep(boxes: [box, box, box], scores: [0.5, 0.5, 0.5], classIDs: [0, 0, 1],
                                          iouThreshold: 0.5)
        XCTAssertEqual(kept, [0, 2])
        XCTAssertEqual(NonMaxSuppression.keep(boxes: [box, box, box], scores: [0.5, 0.5, 0.5], classIDs: [0, 0, 1],
                                              iouThreshold: 0.5, classAgnostic: true), [0])
    }

    func testIoUEqualToThresholdIsKept() {
        // IoU exactly 0.5: torchvision suppresses only above the threshold.
        let a = Box(x1: 0, y1: 0, x2: 10, y2: 10), b = Box(x1: 0, y1: 0, x2: 10, y2: 5)
        XCTAssertEqual(NonMaxSuppression.keep(boxes: [a, b], scores: [0.9, 0.8], classIDs: [0, 0], iouThreshold: 0.5), [0, 1])
        XCTAssertEqual(NonMaxSuppression.keep(boxes: [a, b], scores: [0.9, 0.8], classIDs: [0, 0], iouThreshold: 0.49), [0])
    }
}
