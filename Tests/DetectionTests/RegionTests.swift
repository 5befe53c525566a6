import XCTest
@testable import Detection

final class RegionTests: XCTestCase {
    let names = ["open", "short"]

    func testCentreInsideROIAndOutsideMasks() throws {
        let rules = CameraRules(roi: RegionSettings(polygon: [[0, 0], [100, 0], [100, 100], [0, 100]],
                                                    masks: [[[40, 40], [60, 40], [60, 60], [40, 60]]]))
        let region = try RegionFilter(rules: rules, classNames: names)
        XCTAssertTrue(region.accepts(Box(x1: 10, y1: 10, x2: 20, y2: 20), classID: 0))
        XCTAssertFalse(region.accepts(Box(x1: 90, y1: 90, x2: 150, y2: 150), classID: 0), "centre (120,120) outside")
        XCTAssertFalse(region.accepts(Box(x1: 45, y1: 45, x2: 55, y2: 55), classID: 0), "inside a mask")
        XCTAssertTrue(region.accepts(Box(x1: 30, y1: 30, x2: 70, y2: 45), classID: 0), "centre (50,37.5) above the mask")
    }

    func testConcavePolygon() throws {
        // An L shape: the notch at top right is outside.
        let polygon = try Polygon(points: [[0, 0], [50, 0], [50, 50], [100, 50], [100, 100], [0, 100]])
        XCTAssertTrue(polygon.contains(x: 25, y: 25))
        XCTAssertFalse(polygon.contains(x: 75, y: 25))
        XCTAssertTrue(polygon.contains(x: 75, y: 75))
        XCTAssertFalse(polygon.contains(x: 150, y: 75))
    }

    func testAreaAndAspectFilters() throws {
        let rules = CameraRules(boxFilters: ["short": BoxFilter(minArea: 50, maxArea: 1000, minAspect: 1, maxAspect: 3)])
        let region = try RegionFilter(rules: rules, classNames: names)
        XCTAssertTrue(region.accepts(Box(x1: 0, y1: 0, x2: 2, y2: 2), classID: 0), "class without filter")
        XCTAssertFalse(region.accepts(Box(x1: 0, y1: 0, x2: 5, y2: 5), classID: 1), "area 25 < 50")
        XCTAssertTrue(region.accepts(Box(x1: 0, y1: 0, x2: 10, y2: 10), classID: 1))
        XCTAssertFalse(region.accepts(Box(x1: 0, y1: 0, x2: 40, y2: 40), classID: 1), "area 1600 > 1000")
        XCTAssertFalse(region.accepts(Box(x1: 0, y1: 0, x2: 40, y2: 10), classID: 1), "aspect 4 > 3")
        XCTAssertFalse(region.accepts(Box(x1: 0, y1: 0, x2: 10, y2: 40), classID: 1), "aspect is orientation-free")
        XCTAssertTrue(region.accepts(Box(x1: 0, y1: 0, x2: 30, y2: 10), classID: 1), "aspect 3 is the limit")
    }

    func testDetectorAppliesTheCameraRegion() throws {
        let tensor = DecodingTests.ultralytics([(cx: 50, cy: 50, w: 10, h: 10, scores: [0.9, 0]),
                                                (cx: 500, cy: 500, w: 10, h: 10, scores: [0.8, 0])], classes: 2)
        let camera = CameraRules(roi: RegionSettings(polygon: [[0, 0], [200, 0], [200, 200], [0, 200]]))
        let detector = try FrameDetector(outputShape: [1, 6, 2], classNames: names, settings: DetectionSettings(),
                                         camera: camera)
        let found = try tensor.withUnsafeBufferPointer {
            try detector.detect(output: $0, mapping: DecodingTests.identity, scratch: detector.makeScratch())
        }
        XCTAssertEqual(found.map(\.score), [0.9])
    }
}
