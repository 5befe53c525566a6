import XCTest
@testable import Detection

final class DecodingTests: XCTestCase {
    /// Builds an Ultralytics [1, 4+nc, N] tensor from boxes (cx, cy, w, h) and per-class scores.
    static func ultralytics(_ boxes: [(cx: Float, cy: Float, w: Float, h: Float, scores: [Float])], classes: Int) -> [Float] {
        let n = boxes.count
        var t = [Float](repeating: 0, count: (4 + classes) * n)
        for (i, b) in boxes.enumerated() {
            t[i] = b.cx; t[n + i] = b.cy; t[2 * n + i] = b.w; t[3 * n + i] = b.h
            for c in 0..<classes { t[(4 + c) * n + i] = b.scores[c] }
        }
        return t
    }

    static let identity = SourceMapping(scale: 1, padX: 0, padY: 0, sourceWidth: 640, sourceHeight: 640)

    func testLayoutFromShapeAndClassCount() throws {
        XCTAssertEqual(try OutputLayout.resolve(shape: [1, 10, 8400], classCount: 6),
                       OutputLayout(family: .ultralytics, classCount: 6, boxCount: 8400))
        XCTAssertEqual(try OutputLayout.resolve(shape: [1, 25200, 11], classCount: 6),
                       OutputLayout(family: .yolov5, classCount: 6, boxCount: 25200))
        XCTAssertEqual(try OutputLayout.resolve(shape: [1, 10, 8400], classCount: nil).family, .ultralytics)
        XCTAssertEqual(try OutputLayout.resolve(shape: [1, 25200, 11], classCount: nil).family, .yolov5)
        XCTAssertEqual(try OutputLayout.resolve(shape: [1, 11, 300], classCount: nil, choice: .ultralytics).classCount, 7)
        XCTAssertThrowsError(try OutputLayout.resolve(shape: [1, 10, 8400], classCount: 3)) { error in
            XCTAssertTrue("\(error)".contains("[1, 10, 8400]"), "\(error)")
        }
        XCTAssertThrowsError(try OutputLayout.resolve(shape: [2, 10, 8400], classCount: 6))
        XCTAssertThrowsError(try OutputLayout.resolve(shape: [1, 10, 8400], classCount: 6, choice: .yolov5))
    }

    func testUltralyticsDecodeMapsAndClipsToSource() throws {
        // Letterbox of a 1280×720 frame into 640×640: scale 0.5, pad y 140.
        let mapping = SourceMapping(scale: 0.5, padX: 0, padY: 140, sourceWidth: 1280, sourceHeight: 720)
        let tensor = Self.ultralytics([
            (cx: 100, cy: 200, w: 20, h: 10, scores: [0.1, 0.8]),     // class 1
            (cx: 630, cy: 150, w: 40, h: 30, scores: [0.6, 0.2]),     // crosses the right edge and the top pad
            (cx: 300, cy: 300, w: 20, h: 20, scores: [0.01, 0.02]),   // below the pre-filter
        ], classes: 2)
        var settings = DetectionSettings()
        settings.thresholds.base = 0.25
        let detector = try FrameDetector(outputShape: [1, 6, 3], classNames: ["open", "short"], settings: settings)
        let found = try tensor.withUnsafeBufferPointer {
            try detector.detect(output: $0, mapping: mapping, scratch: detector.makeScratch())
        }
        XCTAssertEqual(found.count, 2)
        XCTAssertEqual(found[0], Candidate(classID: 1, score: 0.8, box: Box(x1: 180, y1: 110, x2: 220, y2: 130)))
        XCTAssertEqual(found[1].classID, 0)
        XCTAssertEqual(found[1].box, Box(x1: 1220, y1: 0, x2: 1280, y2: 50))
    }

    func testYOLOv5ScoreIsObjectnessTimesClass() throws {
        // [1, N, 5+nc]: cx, cy, w, h, objectness, class scores.
        let tensor: [Float] = [
            50, 50, 10, 10, 0.9, 0.5, 0.9,    // score 0.81 class 1
            80, 80, 10, 10, 0.2, 0.9, 0.1,    // 0.18: below 0.25
        ]
        let detector = try FrameDetector(outputShape: [1, 2, 7], classNames: ["a", "b"], settings: DetectionSettings())
        XCTAssertEqual(detector.layout.family, .yolov5)
        let found = try tensor.withUnsafeBufferPointer {
            try detector.detect(output: $0, mapping: Self.identity, scratch: detector.makeScratch())
        }
        XCTAssertEqual(found, [Candidate(classID: 1, score: Float(0.9) * Float(0.9), box: Box(x1: 45, y1: 45, x2: 55, y2: 55))])
    }

    func testAllLabelsGivesOneCandidatePerClass() throws {
        let tensor = Self.ultralytics([(cx: 100, cy: 100, w: 20, h: 20, scores: [0.5, 0.7])], classes: 2)
        var settings = DetectionSettings(labels: .all)
        settings.thresholds.base = 0.3
        let detector = try FrameDetector(outputShape: [1, 6, 1], classNames: ["a", "b"], settings: settings)
        let found = try tensor.withUnsafeBufferPointer {
            try detector.detect(output: $0, mapping: Self.identity, scratch: detector.makeScratch())
        }
        XCTAssertEqual(found.map(\.classID), [1, 0])
    }

    func testPerClassThresholdIsThePreFilter() throws {
        let tensor = Self.ultralytics([(cx: 100, cy: 100, w: 20, h: 20, scores: [0.4, 0]),
                                       (cx: 300, cy: 100, w: 20, h: 20, scores: [0, 0.4])], classes: 2)
        let settings = DetectionSettings(thresholds: ThresholdSettings(base: 0.3, perClass: ["b": 0.5]))
        let detector = try FrameDetector(outputShape: [1, 6, 2], classNames: ["a", "b"], settings: settings)
        XCTAssertEqual(detector.preFilter, [0.3, 0.5])
        let found = try tensor.withUnsafeBufferPointer {
            try detector.detect(output: $0, mapping: Self.identity, scratch: detector.makeScratch())
        }
        XCTAssertEqual(found.map(\.classID), [0])
    }

    func testAdaptiveClassesLowerThePreFilterByTheMargin() {
        let settings = DetectionSettings(thresholds: ThresholdSettings(base: 0.3, perClass: ["b": 0.05]),
                                         adaptive: AdaptiveSettings(enabled: true, classes: ["a", "b"], margin: 0.1))
        let pre = settings.preFilterThresholds(classNames: ["a", "b", "c"])
        XCTAssertEqual(pre[0], 0.2, accuracy: 1e-6)
        XCTAssertEqual(pre[1], 0)
        XCTAssertEqual(pre[2], 0.3)
    }

    func testWrongTensorSizeIsAnError() throws {
        let detector = try FrameDetector(outputShape: [1, 6, 2], classNames: ["a", "b"], settings: DetectionSettings())
        let tensor = [Float](repeating: 0, count: 5)
        XCTAssertThrowsError(try tensor.withUnsafeBufferPointer {
            try detector.detect(output: $0, mapping: Self.identity, scratch: detector.makeScratch())
        }) { XCTAssertTrue("\($0)".contains("needs 12"), "\($0)") }
    }

    func testNMSContainmentAndCap() throws {
        let tensor = Self.ultralytics([
            (cx: 100, cy: 100, w: 100, h: 100, scores: [0.9]),
            (cx: 100, cy: 100, w: 20, h: 20, scores: [0.8]),     // IoU 0.04: survives NMS, contained in the first
            (cx: 102, cy: 100, w: 100, h: 100, scores: [0.7]),   // IoU > 0.3 with the first: suppressed
            (cx: 400, cy: 400, w: 20, h: 20, scores: [0.6]),
            (cx: 500, cy: 500, w: 20, h: 20, scores: [0.5]),
        ], classes: 1)
        var settings = DetectionSettings()
        var detector = try FrameDetector(outputShape: [1, 5, 5], classNames: ["a"], settings: settings)
        let scratch = detector.makeScratch()
        var found = try tensor.withUnsafeBufferPointer { try detector.detect(output: $0, mapping: Self.identity, scratch: scratch) }
        XCTAssertEqual(found.map(\.score), [0.9, 0.8, 0.6, 0.5])
        settings.nms.containment = 0.9
        settings.nms.maxDetections = 2
        detector = try FrameDetector(outputShape: [1, 5, 5], classNames: ["a"], settings: settings)
        found = try tensor.withUnsafeBufferPointer { try detector.detect(output: $0, mapping: Self.identity, scratch: scratch) }
        XCTAssertEqual(found.map(\.score), [0.9, 0.6])
    }
}
