import Foundation
import XCTest
@testable import Detection

/// Decode + NMS + letterbox inverse equal Ultralytics' own post-processing on a real model output
/// (committed by Scripts/model-tools/make-nms-fixtures.py).
final class UltralyticsParityTests: XCTestCase {
    struct Mapping: Decodable { var scale: Float; var pad_x: Float; var pad_y: Float; var width: Int; var height: Int }
    struct Case: Decodable {
        var conf: Float
        var iou: Double
        var labels: String
        var boxes: [Float]
        var scores: [Float]
        var classes: [Int]
    }
    struct File: Decodable { var shape: [Int]; var mapping: Mapping; var cases: [Case] }

    func testMatchesUltralyticsPostprocessing() throws {
        let generator = "Scripts/model-tools/make-nms-fixtures.py"
        let file = try JSONDecoder().decode(File.self, from: try Fixtures.data("detection/deeppcb-ultralytics.json", generator: generator))
        let raw = try Fixtures.data("detection/deeppcb-output.bin", generator: generator)
        let output: [Float] = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        let mapping = SourceMapping(scale: file.mapping.scale, padX: file.mapping.pad_x, padY: file.mapping.pad_y,
                                    sourceWidth: file.mapping.width, sourceHeight: file.mapping.height)
        let names = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]
        for c in file.cases {
            let settings = DetectionSettings(labels: c.labels == "all" ? .all : .best,
                                             thresholds: ThresholdSettings(base: c.conf), nms: NMSSettings(iou: c.iou))
            let detector = try FrameDetector(outputShape: file.shape, classNames: names, settings: settings)
            let found = try output.withUnsafeBufferPointer {
                try detector.detect(output: $0, mapping: mapping, scratch: detector.makeScratch())
            }
            let label = "conf \(c.conf) iou \(c.iou) labels \(c.labels)"
            XCTAssertGreaterThan(c.scores.count, 5, label)
            XCTAssertEqual(found.map(\.score), c.scores, label)
            XCTAssertEqual(found.map(\.classID), c.classes, label)
            let boxes = found.flatMap { [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2] }
            XCTAssertEqual(boxes, c.boxes, label)
        }
    }
}
