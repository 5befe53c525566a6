import Foundation
import XCTest
@testable import Daemon

/// Every kind of config mistake gives one problem naming its key path; valid files read to the documented values.
final class ConfigTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "inspectd-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/model.onnx", contents: Data([0])))
        try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/images/a.jpg", contents: Data([0])))
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A valid config; `extra` is appended at the top level.
    func yaml(camera: String = "  - id: cam1\n    source: {type: synthetic}\n", _ extra: String = "") -> String {
        "site: {line: L1, station: S1}\nmodel: {path: model.onnx}\ncameras:\n" + camera + extra
    }

    func problems(_ text: String) -> [ConfigProblem] {
        do {
            _ = try InspectdConfig.parse(yaml: text, file: "t.yaml", baseDirectory: dir)
            return []
        } catch let e as ConfigError { return e.problems } catch { XCTFail("\(error)"); return [] }
    }

    /// Asserts exactly one problem, at `path`, whose message contains `fragment`.
    func assertOneProblem(_ text: String, at path: String, containing fragment: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        let p = problems(text)
        XCTAssertEqual(p.count, 1, "\(p)", file: file, line: line)
        XCTAssertEqual(p.first?.path, path, "\(p)", file: file, line: line)
        XCTAssertTrue(p.first?.message.contains(fragment) ?? false, "\(p)", file: file, line: line)
    }

    func testMinimalConfigTakesDefaults() throws {
        let c = try InspectdConfig.parse(yaml: yaml(), file: "t.yaml", baseDirectory: dir)
        XCTAssertEqual(c.model.path, dir + "/model.onnx")
        XCTAssertEqual(c.workers.count, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertEqual(c.cameras[0].overload, .dropOldest)
        XCTAssertEqual(c.detection.nms.iou, 0.3)
        XCTAssertEqual(c.mqtt.topicPrefix, "inspect/L1/S1")
        XCTAssertEqual(c.mqtt.clientID, "inspectd-L1-S1")
        XCTAssertEqual(c.metrics.port, 9464)
        XCTAssertEqual(c.shutdownTimeout, .seconds(10))
    }

    func testUnknownKeyIsReportedWithSuggestion() {
        assertOneProblem(yaml("detection: {nms: {iuo: 0.5}}\n"), at: "detection.nms.iuo", containing: "did you mean 'iou'")
        assertOneProblem(yaml("colour: red\n"), at: "colour", containing: "unknown key")
    }

    func testWrongTypes() {
        assertOneProblem(yaml("workers: {count: many}\n"), at: "workers.count", containing: "expected an integer")
        assertOneProblem(yaml("workers: {count: 2.5}\n"), at: "workers.count", containing: "expected an integer")
        assertOneProblem(yaml("mqtt: {publish_ok: 3}\n"), at: "mqtt.publish_ok", containing: "expected true or false")
        assertOneProblem(yaml("detection: [1, 2]\n"), at: "detection", containing: "expected a mapping")
        assertOneProblem(yaml("mqtt: {port: \"1883\"}\n"), at: "mqtt.port", containing: "expected an integer")
        assertOneProblem(yaml("shutdown_timeout: soon\n"), at: "shutdown_timeout", containing: "expected a duration")
    }

    func testOutOfRange() {
        assertOneProblem(yaml("detection: {confidence: 1.5}\n"), at: "detection.confidence", containing: "out of range 0…1")
        assertOneProblem(yaml("mqtt: {port: 70000}\n"), at: "mqtt.port", containing: "out of range")
        assertOneProblem(yaml("shutdown_timeout: 0.1\n"), at: "shutdown_timeout", containing: "100ms is out of range 1s…10m")
        assertOneProblem(yaml("detection: {adaptive: {floor: 0.95}}\n"), at: "detection.adaptive.floor",
                         containing: "above ceiling")
    }

    func testMissingFileAndDevice() {
        assertOneProblem("site: {line: L, station: S}\nmodel: {path: nope.onnx}\ncameras: [{id: c, source: {type: synthetic}}]\n",
                         at: "model.path", containing: "\(dir)/nope.onnx does not exist")
        // A camera that is not plugged in is a camera down at run time (retried), not a wrong config.
        XCTAssertEqual(problems(yaml(camera: "  - id: c0\n    source: {type: synthetic}\n  - id: c1\n    source: {type: v4l2, device: /dev/video97}\n")), [])
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: v4l2, device: /etc/hostname}\n"),
                         at: "cameras[0].source.device", containing: "not a character device")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: replay, glob: 'images/*.png'}\n"),
                         at: "cameras[0].source.glob", containing: "matches no file")
        assertOneProblem(yaml("mqtt: {username: u, password_file: secret}\n"), at: "mqtt.password_file",
                         containing: "does not exist")
    }

    func testBadEnumValues() {
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: synthetic}\n    overload: drop_newest\n"),
                         at: "cameras[0].overload", containing: "'drop_newest' is not one of drop_oldest, block")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: usb}\n"), at: "cameras[0].source.type",
                         containing: "not one of v4l2, replay, synthetic")
        assertOneProblem(yaml("mqtt: {protocol: 4}\n"), at: "mqtt.protocol", containing: "not one of 3.1.1, 5")
        assertOneProblem(yaml("log_level: verbose\n"), at: "log_level", containing: "not one of")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: v4l2, device: /dev/null, formats: [mjpeg, h264]}\n"),
                         at: "cameras[0].source.formats[1]", containing: "'h264' is not one of")
    }

    func testBadPolygons() {
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: synthetic}\n    roi: {polygon: [[0, 0], [10, 0]]}\n"),
                         at: "cameras[0].roi.polygon", containing: "at least 3 points")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: synthetic}\n    roi: {polygon: [[0, 0], [10, 10], [10, 0], [0, 10]]}\n"),
                         at: "cameras[0].roi.polygon", containing: "cross")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: synthetic}\n    roi: {masks: [[[0, 0], [10, 0], [5, -1]]]}\n"),
                         at: "cameras[0].roi.masks[0][2]", containing: "negative")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: synthetic}\n    roi: {polygon: [[0, 0], [10, 0], five]}\n"),
                         at: "cameras[0].roi.polygon[2]", containing: "expected a point")
    }

    func testStructuralMistakes() {
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: synthetic}\n  - id: c\n    source: {type: synthetic}\n"),
                         at: "cameras[1].id", containing: "already the id of cameras[0]")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: replay, path: images, glob: '*.jpg'}\n"),
                         at: "cameras[0].source", containing: "only one of path, glob or list")
        assertOneProblem("site: {line: L, station: S}\nmodel: {path: model.onnx}\n", at: "cameras", containing: "is required")
        assertOneProblem(yaml("site: {line: a/b, station: S}\n").replacingOccurrences(of: "site: {line: L1, station: S1}\n", with: ""),
                         at: "site.line", containing: "must not contain '/'")
        assertOneProblem(yaml("detection: {line_rules: [{id: r, kind: ng_rate, frames: 10}]}\n"),
                         at: "detection.line_rules[0].ng_percent", containing: "is required")
    }

    func testAllProblemsAreReportedAtOnceWithLines() {
        let text = yaml(camera: "  - id: c\n    source: {type: synthetic, fsp: 3}\n",
                        "detection:\n  confidence: 2\nmqtt:\n  port: x\n")
        let p = problems(text)
        XCTAssertEqual(p.map(\.path), ["cameras[0].source.fsp", "detection.confidence", "mqtt.port"])
        XCTAssertEqual(p.map { $0.line ?? -1 }, [5, 7, 9])
        let e = ConfigError(file: "t.yaml", problems: p)
        XCTAssertEqual(e.lines.first, "t.yaml:5: cameras[0].source.fsp: unknown key (did you mean 'fps'?)")
    }

    func testYamlSyntaxAndDuplicateKeys() {
        let bad = problems("site: {line: L\n")
        XCTAssertEqual(bad.count, 1); XCTAssertTrue(bad.first?.message.hasPrefix("YAML syntax") ?? false, "\(bad)")
        let dup = problems(yaml("mqtt: {port: 1}\nmqtt: {port: 2}\n"))
        XCTAssertEqual(dup.count, 1); XCTAssertTrue(dup.first?.message.contains("duplicate key 'mqtt'") ?? false, "\(dup)")
    }

    func testClassNamesAreCheckedAgainstTheModel() throws {
        let c = try InspectdConfig.parse(yaml: yaml(camera: "  - id: c\n    source: {type: synthetic}\n    thresholds: {classes: {shrot: 0.5}}\n",
                                                    "detection:\n  classes: {open: {confidence: 0.4}}\n  line_rules: [{id: r, kind: consecutive_class, class: spurr}]\n"),
                                         file: "t.yaml", baseDirectory: dir)
        let p = c.problems(classNames: ["open", "short", "mousebite", "spur", "copper", "pin-hole"])
        XCTAssertEqual(p.map(\.path), ["cameras[0].thresholds.classes.shrot", "detection.line_rules[0].class"])
        XCTAssertTrue(p[0].message.contains("did you mean 'short'"), "\(p)")
    }

    func testDurationsAndSizes() throws {
        let c = try InspectdConfig.parse(yaml: yaml("audit: {batch_interval: 250ms}\nstats_interval: 1.5\nmodel: {path: model.onnx, input_size: [640, 480]}\n")
            .replacingOccurrences(of: "model: {path: model.onnx}\n", with: ""), file: "t.yaml", baseDirectory: dir)
        XCTAssertEqual(c.audit.batchInterval, .milliseconds(250))
        XCTAssertEqual(c.statsInterval, .milliseconds(1500))
        XCTAssertEqual(c.model.inputSize, [480, 640])
        assertOneProblem(yaml("model: {path: model.onnx, input_size: 600}\n").replacingOccurrences(of: "model: {path: model.onnx}\n", with: ""),
                         at: "model.input_size", containing: "multiples of 32")
    }

    /// The reference file documents the defaults: read with its two machine-specific paths, it equals a minimal
    /// file's defaults section by section.
    func testReferenceConfigDocumentsTheDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let text = try String(contentsOfFile: root + "/Configs/inspectd.yaml", encoding: .utf8)
        let (reference, problems) = InspectdConfig.decode(yaml: text, file: "inspectd.yaml", baseDirectory: dir, revision: "")
        // Only the model file and the camera device may be missing on a test machine.
        for p in problems {
            XCTAssertTrue(["model.path", "cameras[0].source.device"].contains(p.path), "\(p)")
        }
        let minimal = try InspectdConfig.parse(yaml: "site: {line: line1, station: aoi1}\nmodel: {path: model.onnx}\n"
                                               + "cameras: [{id: cam1, source: {type: synthetic}}]\n",
                                               file: "m.yaml", baseDirectory: dir)
        let r = try XCTUnwrap(reference)
        XCTAssertEqual(r.detection, minimal.detection)
        XCTAssertEqual(r.mqtt, minimal.mqtt)
        XCTAssertEqual(r.audit, minimal.audit)
        XCTAssertEqual(r.snapshots, minimal.snapshots)
        XCTAssertEqual(r.metrics, minimal.metrics)
        XCTAssertEqual(r.workers, minimal.workers)
        XCTAssertEqual(r.shutdownTimeout, minimal.shutdownTimeout)
        XCTAssertEqual(r.statsInterval, minimal.statsInterval)
        XCTAssertEqual(r.logLevel, minimal.logLevel)
        XCTAssertEqual(r.cameras[0].queueSize, minimal.cameras[0].queueSize)
        XCTAssertEqual(r.cameras[0].roi, minimal.cameras[0].roi)
        XCTAssertEqual(r.cameras[0].thresholds, minimal.cameras[0].thresholds)
        guard case .v4l2(let v) = r.cameras[0].source else { return XCTFail("reference camera is not v4l2") }
        XCTAssertEqual(v.formats, [.mjpeg, .yuyv]); XCTAssertEqual(v.stallTimeout, .seconds(2))
    }
}
