import Capture
import Detection
import XCTest
@testable import Daemon

/// Scoring a frame's defects against the defects the synthetic source injected (IoU ≥ 0.3, one match each).
final class GroundTruthScoreTests: XCTestCase {
    func defect(_ cls: Int, _ conf: Float, _ x1: Float, _ y1: Float, _ x2: Float, _ y2: Float) -> Defect {
        Defect(classID: cls, className: "c\(cls)", confidence: conf, threshold: 0.25,
               box: Box(x1: x1, y1: y1, x2: x2, y2: y2))
    }

    func testMatchesByIoUAndCountsClassesAndFalseAlarms() {
        let truth = [GroundTruthDefect(classID: 1, x1: 0, y1: 0, x2: 10, y2: 10),
                     GroundTruthDefect(classID: 2, x1: 100, y1: 100, x2: 120, y2: 120),
                     GroundTruthDefect(classID: 3, x1: 300, y1: 300, x2: 310, y2: 310)]
        let defects = [defect(1, 0.9, 1, 1, 11, 11),            // IoU 0.68 with truth 0, right class
                       defect(4, 0.8, 100, 100, 115, 115),      // IoU 0.56 with truth 1, wrong class
                       defect(1, 0.7, 0, 0, 10, 10),            // truth 0 already taken: false alarm
                       defect(3, 0.6, 300, 300, 305, 304)]      // IoU 0.2 with truth 2: false alarm
        let s = GroundTruthScore(defects: defects, truth: truth)
        XCTAssertEqual(s.injected, 3)
        XCTAssertEqual(s.detections, 4)
        XCTAssertEqual(s.found, 2)
        XCTAssertEqual(s.foundRightClass, 1)
        XCTAssertEqual(s.falseAlarms, 2)
    }

    func testHigherConfidenceDefectsMatchFirst() {
        let truth = [GroundTruthDefect(classID: 0, x1: 0, y1: 0, x2: 10, y2: 10)]
        // Listed low confidence first: the 0.9 one (right class) must still take the injected defect.
        let s = GroundTruthScore(defects: [defect(5, 0.3, 0, 0, 10, 10), defect(0, 0.9, 0, 0, 9, 9)], truth: truth)
        XCTAssertEqual(s.found, 1)
        XCTAssertEqual(s.foundRightClass, 1)
        XCTAssertEqual(s.falseAlarms, 1)
    }

    func testIoUThresholdIsInclusiveAndTotalsAddUp() {
        // 10×10 truth, 10×3 defect inside it: IoU exactly 0.3.
        let truth = [GroundTruthDefect(classID: 0, x1: 0, y1: 0, x2: 10, y2: 10)]
        var total = GroundTruthScore(defects: [defect(0, 0.5, 0, 0, 10, 3)], truth: truth)
        XCTAssertEqual(total.found, 1)
        total += GroundTruthScore(defects: [], truth: truth)
        total += GroundTruthScore(defects: [defect(2, 0.5, 50, 50, 60, 60)], truth: [])
        XCTAssertEqual([total.injected, total.found, total.foundRightClass, total.falseAlarms, total.detections],
                       [2, 1, 1, 1, 2])
        XCTAssertEqual([total.parts, total.defectiveParts, total.falseRejects, total.escapes], [3, 2, 1, 1])
        XCTAssertEqual(total.summary,
                       "3 parts, 2 defective: 1 good part judged NG, 1 defective part judged OK; "
                       + "found 1/2 injected defects (50.0%), 1 with the right class; 1 of 2 detections were false alarms (50.0%)")
    }

    func testTotalsAreExposedAsCountersPerCamera() {
        let metrics = PipelineMetrics()
        var frame = GroundTruthScore()
        frame.injected = 4; frame.found = 3; frame.foundRightClass = 2; frame.falseAlarms = 1; frame.detections = 4
        metrics.count(frame, camera: "cam1")
        metrics.count(frame, camera: "cam1")
        let text = metrics.exposition()
        for line in ["inspectd_ground_truth_injected_total{camera=\"cam1\"} 8",
                     "inspectd_ground_truth_found_total{camera=\"cam1\"} 6",
                     "inspectd_ground_truth_found_right_class_total{camera=\"cam1\"} 4",
                     "inspectd_ground_truth_false_alarms_total{camera=\"cam1\"} 2",
                     "inspectd_ground_truth_detections_total{camera=\"cam1\"} 8"] {
            XCTAssertTrue(text.contains(line), "missing \(line) in:\n\(text)")
        }
    }
}
