import Foundation
import XCTest

/// `inspectd detect` on the 100 DeepPCB val images finds the same boxes as onnxruntime followed by the same
/// NMS (same class, IoU ≥ 0.95) for ≥ 99% of boxes, for the FP32 and the INT8 reference models.
final class DetectParityTests: XCTestCase {
    struct Line: Decodable {
        struct Det: Decodable { var class_id: Int; var confidence: Float; var box: [Float] }
        var image: String
        var width: Int
        var height: Int
        var detections: [Det]
    }

    func testFP32MatchesOnnxruntime() throws { try check(model: "deeppcb-yolov8n.onnx") }
    func testINT8MatchesOnnxruntime() throws { try check(model: "deeppcb-yolov8n.int8.onnx") }

    private func check(model: String) throws {
        let oracleURL = try CLI.fixture("detect-parity/\(model).jsonl", generator: "detect-parity")
        let oracle = try String(contentsOf: oracleURL, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        XCTAssertEqual(oracle.count, 100, "the oracle should cover the 100 val images")
        let modelPath = CLI.shared.appendingPathComponent("models/\(model)").path
        let result = try CLI.run(["detect", "--model", modelPath, "--threads", "2"] + oracle.map(\.image))
        XCTAssertEqual(result.status, 0, result.err)
        let ours = try result.out.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        XCTAssertEqual(ours.count, oracle.count)
        var total = 0, matched = 0, extra = 0
        for (a, b) in zip(oracle, ours) {
            XCTAssertEqual(a.image, b.image); XCTAssertEqual(a.width, b.width); XCTAssertEqual(a.height, b.height)
            var used = Set<Int>()
            for d in a.detections {
                total += 1
                if let j = b.detections.indices.first(where: { !used.contains($0) && b.detections[$0].class_id == d.class_id
                    && iou(b.detections[$0].box, d.box) >= 0.95 }) {
                    used.insert(j); matched += 1
                }
            }
            extra += b.detections.count - used.count
        }
        let rate = Double(matched) / Double(max(total, 1))
        print("detect parity \(model): \(matched)/\(total) onnxruntime boxes matched (\(String(format: "%.2f", rate * 100))%), \(extra) boxes only ours")
        XCTAssertGreaterThan(total, 100, "the oracle should hold real detections")
        XCTAssertGreaterThanOrEqual(rate, 0.99)
        XCTAssertLessThanOrEqual(Double(extra), 0.01 * Double(total))
    }

    private func iou(_ a: [Float], _ b: [Float]) -> Float {
        let w = max(0, min(a[2], b[2]) - max(a[0], b[0])), h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
        let inter = w * h
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return union > 0 ? inter / union : 0
    }
}
