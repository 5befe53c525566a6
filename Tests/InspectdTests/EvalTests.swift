import Foundation
import XCTest

/// `inspectd eval` (our preprocessing, engine and post-processing, our COCO evaluator) agrees with pycocotools
/// on onnxruntime's detections of the same images within 0.005, and its JSON has the documented keys.
final class EvalTests: XCTestCase {
    struct Oracle: Decodable { var map50: Double; var map50_95: Double; var labels: Int }
    struct Report: Decodable {
        struct PerClass: Decodable { var class_id: Int; var ap50: Double? }
        var map50: Double
        var map50_95: Double
        var labels: Int
        var per_class: [PerClass]
    }

    func testFP32AgreesWithPycocotoolsOnOnnxruntime() throws {
        let oracleURL = try CLI.fixture("detect-parity/eval-fp32.json", generator: "detect-parity")
        let oracle = try JSONDecoder().decode(Oracle.self, from: Data(contentsOf: oracleURL))
        let data = CLI.shared.appendingPathComponent("datasets/deeppcb/data.yaml").path
        let model = CLI.shared.appendingPathComponent("models/deeppcb-yolov8n.onnx").path
        let r = try CLI.run(["eval", "--model", model, "--data", data, "--threads", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let report = try JSONDecoder().decode(Report.self, from: Data(r.out.utf8))
        print("eval: ours mAP@0.5 \(report.map50) mAP@0.5:0.95 \(report.map50_95); pycocotools on onnxruntime "
            + "\(oracle.map50) / \(oracle.map50_95)")
        XCTAssertEqual(report.labels, oracle.labels)
        XCTAssertEqual(report.map50, oracle.map50, accuracy: 0.005)
        XCTAssertEqual(report.map50_95, oracle.map50_95, accuracy: 0.005)
        XCTAssertEqual(report.per_class.count, 6)
        XCTAssertTrue(report.per_class.allSatisfy { $0.ap50 != nil })
    }
}
