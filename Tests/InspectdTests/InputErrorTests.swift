import Foundation
import XCTest

/// Bad input to the command line exits with code 2 and a line naming the problem; never a crash.
final class InputErrorTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private var model: String { CLI.repo.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path }

    func testMissingModel() throws {
        let r = try CLI.run(["detect", "--model", dir.appendingPathComponent("nope.onnx").path, "x.jpg"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("nope.onnx"), r.err)
    }

    func testGarbageModel() throws {
        let bad = dir.appendingPathComponent("garbage.onnx")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }).write(to: bad)
        for cmd in [["model-info", bad.path], ["detect", "--model", bad.path, bad.path]] {
            let r = try CLI.run(cmd)
            XCTAssertEqual(r.status, 2, "\(cmd): \(r.err)")
            XCTAssertTrue(r.err.contains("garbage.onnx"), r.err)
        }
    }

    func testBadImagesAreNamedAndOthersStillRun() throws {
        let text = dir.appendingPathComponent("notes.jpg")
        try Data("not an image".utf8).write(to: text)
        let truncated = dir.appendingPathComponent("truncated.jpg")
        let real = CLI.shared.appendingPathComponent("datasets/deeppcb/images/val/92000011.jpg")
        let bytes = try Data(contentsOf: real)
        try bytes.prefix(200).write(to: truncated)
        let r = try CLI.run(["detect", "--model", model, text.path, real.path, truncated.path])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("notes.jpg"), r.err)
        XCTAssertTrue(r.err.contains("truncated.jpg"), r.err)
        XCTAssertTrue(r.out.contains("92000011.jpg"), "the good image is still inspected: \(r.out)")
    }

    /// A JPEG cut short still decodes (with libjpeg-turbo's warning and grey where data is missing); it is
    /// reported as a problem for that image, never given a result that could read as OK.
    func testATruncatedJPEGIsAProblemNotAResult() throws {
        let real = CLI.shared.appendingPathComponent("datasets/deeppcb/images/val/92000011.jpg")
        let bytes = try Data(contentsOf: real)
        let truncated = dir.appendingPathComponent("cut.jpg")
        try bytes.prefix(bytes.count * 6 / 10).write(to: truncated)
        for cmd in [["detect", "--model", model, real.path, truncated.path]] {
            let r = try CLI.run(cmd)
            XCTAssertEqual(r.status, 2, r.err)
            XCTAssertTrue(r.err.contains("cut.jpg") && r.err.contains("truncated or damaged JPEG"), r.err)
            XCTAssertFalse(r.out.contains("cut.jpg"), "no result for the truncated image: \(r.out)")
            XCTAssertTrue(r.out.contains("92000011.jpg"), "the good image is still inspected: \(r.out)")
        }
    }

    func testBadOptions() throws {
        let r = try CLI.run(["detect", "--model", model, "--conf", "1.5", "x.jpg"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--conf"), r.err)
        let e = try CLI.run(["eval", "--model", model, "--data", dir.appendingPathComponent("none.yaml").path])
        XCTAssertEqual(e.status, 2)
        XCTAssertTrue(e.err.contains("none.yaml"), e.err)
    }
}
