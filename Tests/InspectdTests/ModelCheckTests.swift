import Foundation
import TestSupport
import XCTest

/// `check-config` loads the model and checks it the way `run` does at start (input, a YOLO detection output
/// that matches the class names, the config's class names, one inference), so a model it accepts runs.
final class ModelCheckTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-modelcheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A tiny detector: a 1×1 Conv to `channels` maps, reshaped to [1, channels, H·W] (Ultralytics' layout);
    /// its metadata names two classes, so 6 channels (4 box + 2 classes) is right.
    private func detector(channels: Int, inputChannels: Int = 3, side: Int = 32, output: Bool = true) -> [UInt8] {
        let weights = (0..<(channels * inputChannels)).map { Float($0 % 5) * 0.1 }
        return OnnxWriter.model(
            input: [1, inputChannels, side, side], output: output ? [1, channels, side * side] : nil,
            nodes: [.init(op: "Conv", inputs: ["x", "w"], outputs: ["c"], name: "conv", intsAttrs: ["kernel_shape": [1, 1]]),
                    .init(op: "Reshape", inputs: ["c", "shape"], outputs: ["y"], name: "reshape")],
            initializers: [("w", [channels, inputChannels, 1, 1], weights)],
            extraTensor: OnnxWriter.int64Tensor("shape", [1, Int64(channels), Int64(side * side)]))
    }

    /// Writes `model` and a config using it; returns check-config's result.
    private func check(_ model: [UInt8], extra: String = "") throws -> (status: Int32, out: String, err: String) {
        try Data(model).write(to: dir.appendingPathComponent("m.onnx"))
        let config = dir.appendingPathComponent("c.yaml")
        try ("site: {line: L1, station: S1}\nmodel: {path: m.onnx}\ncameras: [{id: cam1, source: {type: synthetic}}]\n"
             + "audit: {path: audit.db}\nsnapshots: {dir: snaps}\nmqtt: {enabled: false}\nmetrics: {enabled: false}\n"
             + extra).write(to: config, atomically: true, encoding: .utf8)
        return try CLI.run(["check-config", config.path])
    }

    func testAWellFormedDetectorPasses() throws {
        let r = try check(detector(channels: 6))
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("2 classes: open, short"), r.out)
    }

    func testAModelWithoutOutputsIsRejected() throws {
        let r = try check(detector(channels: 6, output: false))
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains("model.path") && r.err.contains("no outputs"), r.err)
    }

    func testAnOutputThatIsNotAYOLODetectionIsRejected() throws {
        let relu = OnnxWriter.model(input: [1, 3, 32, 32], output: [1, 3, 32, 32],
                                    nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])])
        let r = try check(relu)
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains("model.path") && r.err.contains("not a YOLO detection output"), r.err)
    }

    func testAnOutputForAnotherClassCountIsRejected() throws {
        let r = try check(detector(channels: 7))  // 3 classes in the output, 2 names in the metadata
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains("model.path") && r.err.contains("[1, 7, 1024]"), r.err)
    }

    func testAnInputThatIsNotAColourPictureIsRejected() throws {
        let r = try check(detector(channels: 6, inputChannels: 1))
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains("model.path") && r.err.contains("expected one float input [1,3,H,W]"), r.err)
    }

    func testConfigClassNamesAreCheckedAgainstTheModel() throws {
        let r = try check(detector(channels: 6), extra: "detection: {classes: {shrot: {confidence: 0.5}}}\n")
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains("detection.classes.shrot") && r.err.contains("did you mean 'short'"), r.err)
    }
}
