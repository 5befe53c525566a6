import Foundation
import XCTest
@testable import Detection

final class SettingsValidationTests: XCTestCase {
    let names = ["open", "short", "mousebite"]

    func testDefaultsAreValid() {
        XCTAssertEqual(DetectionSettings().validate(classNames: names), [])
        XCTAssertEqual(CameraRules().validate(classNames: names), [])
        XCTAssertEqual(DetectionSettings().nms.iou, 0.3)
    }

    func testDetectionProblemsNameTheirKeys() {
        var s = DetectionSettings()
        s.thresholds.base = 1.5
        s.thresholds.perClass = ["short": -0.1, "scratch": 0.5]
        s.adaptive = AdaptiveSettings(enabled: true, classes: ["dent"], window: 0, minSamples: 10, percentile: 120,
                                      floor: 0.95, ceiling: 0.9, driftAfterSeconds: 0)
        s.nms = NMSSettings(iou: 2, maxDetections: 0, containment: 0)
        let problems = s.validate(classNames: names).map(\.description)
        let expected = [
            "detection.confidence: must be between 0 and 1, got 1.5",
            "detection.classes.scratch.confidence: unknown class 'scratch' (the model's classes: open, short, mousebite)",
            "detection.classes.short.confidence: must be between 0 and 1, got -0.1",
            "detection.adaptive.classes[0]: unknown class 'dent' (the model's classes: open, short, mousebite)",
            "detection.adaptive.window: must be at least 1, got 0",
            "detection.adaptive.min_samples: must be between 1 and window (0), got 10",
            "detection.adaptive.percentile: must be between 0 and 100, got 120.0",
            "detection.adaptive.floor: must not exceed ceiling (0.9), got 0.95",
            "detection.adaptive.drift_after: must be above 0 s, got 0.0 s",
            "detection.nms.iou: must be between 0 and 1, got 2.0",
            "detection.nms.max_detections: must be at least 1, got 0",
            "detection.nms.containment: must be above 0 and at most 1, got 0.0",
        ]
        XCTAssertEqual(problems, expected)
    }

    func testCameraProblemsNameTheirKeys() {
        let rules = CameraRules(
            roi: RegionSettings(polygon: [[0, 0], [10, 0]],
                                masks: [[[0, 0], [10, 10], [10, 0], [0, 10]], [[0, 0], [5]]]),
            boxFilters: ["short": BoxFilter(minArea: -1, maxArea: 10, minAspect: 0.5),
                         "open": BoxFilter(minArea: 100, maxArea: 10, minAspect: 4, maxAspect: 2),
                         "dent": BoxFilter()],
            lineRules: [LineRule(id: "r", kind: .consecutiveClass, className: "dent", frames: 0),
                        LineRule(id: "r", kind: .ngRate, frames: 10),
                        LineRule(id: "p", kind: .ngRate, frames: 10, ngPercent: 150)])
        let problems = rules.validate(classNames: names, prefix: "cameras[2]").map(\.description)
        let expected = [
            "cameras[2].roi.polygon: a polygon needs at least 3 points, got 2",
            "cameras[2].roi.masks[0]: polygon is self-intersecting (edge 0→1 crosses edge 2→3)",
            "cameras[2].roi.masks[1][1]: a point is [x, y] with finite numbers, got [5.0]",
            "detection.classes.dent: unknown class 'dent' (the model's classes: open, short, mousebite)",
            "detection.classes.open.min_area: must not exceed max_area (10.0), got 100.0",
            "detection.classes.open.min_aspect: must not exceed max_aspect (2.0), got 4.0",
            "detection.classes.short.min_area: must not be negative, got -1.0",
            "detection.classes.short.min_aspect: is long side / short side, so at least 1, got 0.5",
            "cameras[2].line_rules[0].frames: must be at least 1, got 0",
            "cameras[2].line_rules[0].class: unknown class 'dent' (the model's classes: open, short, mousebite)",
            "cameras[2].line_rules[1].ng_percent: is required for an ng_rate rule",
            "cameras[2].line_rules[1].id: duplicate rule id 'r'",
            "cameras[2].line_rules[2].ng_percent: must be between 0 and 100, got 150.0",
        ]
        XCTAssertEqual(problems, expected)
    }

    func testBuildersRejectInvalidSettings() {
        var s = DetectionSettings()
        s.thresholds.base = -1
        XCTAssertThrowsError(try CameraJudge(cameraID: "c", classNames: names, settings: s)) { error in
            XCTAssertEqual((error as? SettingsError)?.problems.first?.key, "detection.confidence")
        }
        XCTAssertThrowsError(try FrameDetector(outputShape: [1, 7, 100], classNames: names, settings: s))
    }
}

extension SettingsValidationTests {
    func testAdaptiveFloorAboveCeiling() {
        let s = DetectionSettings(thresholds: ThresholdSettings(base: 0.5, perClass: ["short": 0.95]),
                                  adaptive: AdaptiveSettings(enabled: true))
        XCTAssertEqual(s.validate(classNames: names).map(\.description), [
            "detection.classes.short.confidence: is the floor of adaptive class 'short' and must not exceed adaptive.ceiling (0.9), got 0.95",
        ])
    }
}
