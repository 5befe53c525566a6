import Detection
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

    /// The `detection` section is read straight into Detection's own settings model (one model, YAML keys).
    func testDetectionSectionFillsDetectionsOwnSettings() throws {
        let c = try InspectdConfig.parse(yaml: yaml("""
            detection:
              confidence: 0.4
              output_layout: yolov5
              labels: all
              classes: {short: {confidence: 0.6, min_area: 4, max_aspect: 8}, open: {confidence: 0.5}}
              adaptive: {enabled: true, classes: [short], window: 50, min_samples: 5, margin: 0.05, ceiling: 0.8, drift_after: 2m}
              nms: {iou: 0.45, class_agnostic: true, max_detections: 50, containment: 0.9}
              line_rules: [{id: burst, kind: ng_rate, frames: 20, ng_percent: 25}]

            """), file: "t.yaml", baseDirectory: dir)
        let expected = DetectionSettings(
            outputLayout: .yolov5, labels: .all,
            thresholds: ThresholdSettings(base: 0.4, perClass: ["short": 0.6, "open": 0.5]),
            adaptive: AdaptiveSettings(enabled: true, classes: ["short"], window: 50, minSamples: 5, margin: 0.05,
                                       ceiling: 0.8, driftAfterSeconds: 120),
            nms: NMSSettings(iou: 0.45, classAgnostic: true, maxDetections: 50, containment: 0.9))
        XCTAssertEqual(c.detection.settings, expected)
        XCTAssertEqual(c.detection.boxFilters, ["short": BoxFilter(minArea: 4, maxAspect: 8)])
        XCTAssertEqual(c.detection.lineRules.map(\.value), [LineRule(id: "burst", kind: .ngRate, frames: 20, ngPercent: 25)])
        XCTAssertEqual(c.detection.classKeys.map(\.path).sorted(),
                       ["detection.adaptive.classes[0]", "detection.classes.open", "detection.classes.short"])
    }

    func testMinimalConfigTakesDefaults() throws {
        let c = try InspectdConfig.parse(yaml: yaml(), file: "t.yaml", baseDirectory: dir)
        XCTAssertEqual(c.model.path, dir + "/model.onnx")
        XCTAssertEqual(c.workers.count, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertEqual(c.cameras[0].overload, .dropOldest)
        XCTAssertEqual(c.detection.settings.nms.iou, 0.3)
        XCTAssertEqual(c.mqtt.topicPrefix, "inspect/L1/S1")
        XCTAssertEqual(c.mqtt.clientID, "inspectd-L1-S1")
        XCTAssertEqual(c.http.listen, ListenAddress(host: "127.0.0.1", port: 9464))
        XCTAssertEqual(c.http.maxBody, 32 << 20)
        XCTAssertTrue(c.http.enabled)
        XCTAssertEqual(c.warnings, [])
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
                         at: "site.line", containing: "'a/b' contains '/'")
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

    /// Values too large for their type are range errors naming the key, not a crash (`1e19s` used to overflow
    /// Int64 while becoming a Duration and stop the process with SIGILL, at start and on SIGHUP).
    func testHugeValuesAreOutOfRangeNotACrash() {
        assertOneProblem(yaml("stats_interval: 1e19s\n"), at: "stats_interval", containing: "'1e19s' is out of range 1s…1d")
        assertOneProblem(yaml("stats_interval: 1.0e19\n"), at: "stats_interval", containing: "is out of range 1s…1d")
        assertOneProblem(yaml("shutdown_timeout: 1e300d\n"), at: "shutdown_timeout", containing: "out of range 1s…10m")
        assertOneProblem(yaml("shutdown_timeout: 1e308d\n"), at: "shutdown_timeout", containing: "'1e308d' is out of range")
        assertOneProblem(yaml("mqtt: {keepalive: 99999999999999999999h}\n"), at: "mqtt.keepalive", containing: "out of range 5s…1h")
        assertOneProblem(yaml("audit: {batch_interval: 9223372036854775807ms}\n"), at: "audit.batch_interval",
                         containing: "out of range 1ms…10s")
        assertOneProblem(yaml("detection: {adaptive: {drift_after: 1e16}}\n"), at: "detection.adaptive.drift_after",
                         containing: "out of range 1s…30d")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: v4l2, device: /dev/null, stall_timeout: 1e18s}\n"),
                         at: "cameras[0].source.stall_timeout", containing: "out of range 100ms…10m")
        assertOneProblem(yaml("shutdown_timeout: 11m\n"), at: "shutdown_timeout", containing: "11m is out of range 1s…10m")
        assertOneProblem(yaml("workers: {count: 99999999999999999999999}\n"), at: "workers.count",
                         containing: "'99999999999999999999999' is out of range 1…256")
        assertOneProblem(yaml("audit: {size_cap_mb: 18446744073709551616}\n"), at: "audit.size_cap_mb",
                         containing: "out of range 1…10000000")
        assertOneProblem(yaml(camera: "  - id: c\n    source: {type: synthetic}\n    queue_size: 100000\n"),
                         at: "cameras[0].queue_size", containing: "out of range 1…1024")
        let many = (0...InspectdConfig.maxCameras).map { "  - {id: c\($0), source: {type: synthetic}}\n" }.joined()
        assertOneProblem(yaml(camera: many), at: "cameras", containing: "at most 64")
    }

    /// Names that go into MQTT topics and file names (site.line, site.station, camera ids, topic prefix levels)
    /// are 1–64 of [A-Za-z0-9._-], not starting with '.'; anything else is an error at its key path.
    func testNamesInTopicsAndFilesUseTheSafeCharacterSet() throws {
        let site = "site: {line: L1, station: S1}\n"
        func withSite(_ s: String) -> String { yaml().replacingOccurrences(of: site, with: "site: \(s)\n") }
        assertOneProblem(withSite("{line: \"a\\0b\", station: S1}"), at: "site.line", containing: "U+0000")
        assertOneProblem(withSite("{line: L1, station: \"aoi 1\"}"), at: "site.station", containing: "a space")
        assertOneProblem(withSite("{line: \"l+1\", station: S1}"), at: "site.line", containing: "'+'")
        assertOneProblem(withSite("{line: L1, station: \"s#\"}"), at: "site.station", containing: "'#'")
        assertOneProblem(withSite("{line: \"tab\\there\", station: S1}"), at: "site.line", containing: "U+0009")
        assertOneProblem(withSite("{line: \"ligne-é\", station: S1}"), at: "site.line", containing: "U+00E9")
        assertOneProblem(withSite("{line: .hidden, station: S1}"), at: "site.line", containing: "starts with '.'")
        assertOneProblem(withSite("{line: \"..\", station: S1}"), at: "site.line", containing: "starts with '.'")
        assertOneProblem(withSite("{line: \(String(repeating: "x", count: 65)), station: S1}"), at: "site.line",
                         containing: "65 characters long")
        assertOneProblem(withSite("{line: L1}"), at: "site.station", containing: "is required")
        assertOneProblem(yaml(camera: "  - id: \"cam/1\"\n    source: {type: synthetic}\n"), at: "cameras[0].id",
                         containing: "'/'")
        assertOneProblem(yaml(camera: "  - id: \"cam\\n1\"\n    source: {type: synthetic}\n"), at: "cameras[0].id",
                         containing: "'cam\\u{a}1' contains U+000A")
        assertOneProblem(yaml(camera: "  - id: .cam\n    source: {type: synthetic}\n"), at: "cameras[0].id",
                         containing: "starts with '.'")
        assertOneProblem(yaml("mqtt: {topic_prefix: \"plant 1/{line}/{station}\"}\n"), at: "mqtt.topic_prefix",
                         containing: "a space")
        assertOneProblem(yaml("mqtt: {topic_prefix: \"a/+/{station}\"}\n"), at: "mqtt.topic_prefix", containing: "'+'")
        assertOneProblem(yaml("mqtt: {topic_prefix: \"a//{station}\"}\n"), at: "mqtt.topic_prefix", containing: "empty levels")
        // The whole allowed set, at the longest length, is accepted.
        let longest = "Az09._-" + String(repeating: "q", count: 57)
        let c = try InspectdConfig.parse(yaml: withSite("{line: \(longest), station: s_1.B-2}")
                                            .replacingOccurrences(of: "id: cam1", with: "id: Cam_1.x-2"),
                                         file: "t.yaml", baseDirectory: dir)
        XCTAssertEqual(c.site.line, longest)
        XCTAssertEqual(c.mqtt.topicPrefix, "inspect/\(longest)/s_1.B-2")
        XCTAssertEqual(c.cameras[0].id, "Cam_1.x-2")
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
        XCTAssertEqual(r.http, minimal.http)
        XCTAssertEqual(r.warnings, [])
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

    func testReferenceSectionReadsImageAndAlignLimits() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/golden.png", contents: Data([0])))
        let camera = "  - id: cam1\n    source: {type: replay, path: images}\n"
            + "    reference: {image: golden.png, align: {max_shift: 12, max_rotation: 1.5, min_match: 0.6}}\n"
        let c = try InspectdConfig.parse(yaml: yaml(camera: camera), file: "t.yaml", baseDirectory: dir)
        XCTAssertEqual(c.cameras[0].reference, .init(image: dir + "/golden.png", maxShift: 12, maxRotation: 1.5, minMatch: 0.6))
        let defaults = try InspectdConfig.parse(yaml: yaml(camera: "  - id: cam1\n    source: {type: synthetic, shift: 3, rotation: 0.5, defective_fraction: 0.3}\n    reference: {}\n"),
                                                file: "t.yaml", baseDirectory: dir)
        XCTAssertEqual(defaults.cameras[0].reference, .init(image: nil, maxShift: 20, maxRotation: 2, minMatch: 0.5))
        guard case .synthetic(let s) = defaults.cameras[0].source else { return XCTFail("not synthetic") }
        XCTAssertEqual(s.defectiveFraction, 0.3); XCTAssertEqual(s.shift, 3); XCTAssertEqual(s.rotation, 0.5)
        XCTAssertNil(try InspectdConfig.parse(yaml: yaml(), file: "t.yaml", baseDirectory: dir).cameras[0].reference)
    }

    func testReferenceMistakesNameTheirKeys() {
        assertOneProblem(yaml(camera: "  - id: cam1\n    source: {type: replay, path: images}\n    reference: {}\n"),
                         at: "cameras[0].reference.image", containing: "is required")
        assertOneProblem(yaml(camera: "  - id: cam1\n    source: {type: replay, path: images}\n    reference: {image: nope.png}\n"),
                         at: "cameras[0].reference.image", containing: "does not exist")
        assertOneProblem(yaml(camera: "  - id: cam1\n    source: {type: synthetic}\n    reference: {align: {max_rotation: 45}}\n"),
                         at: "cameras[0].reference.align.max_rotation", containing: "10")
        assertOneProblem(yaml(camera: "  - id: cam1\n    source: {type: synthetic, defective_fraction: 2}\n"),
                         at: "cameras[0].source.defective_fraction", containing: "1")
        // Recipes: a golden image per product, for triggered cameras, with names a trigger can carry.
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/top.png", contents: Data([0])))
        let triggered = "  - id: cam1\n    source: {type: replay, path: images}\n    trigger: {mode: software}\n"
        let c = try? InspectdConfig.parse(yaml: yaml(camera: triggered + "    reference: {recipes: {top: top.png}}\n"),
                                          file: "t.yaml", baseDirectory: dir)
        XCTAssertEqual(c?.cameras[0].reference?.recipes, ["top": dir + "/top.png"])
        XCTAssertNil(c?.cameras[0].reference?.image, "no default image needed with recipes")
        assertOneProblem(yaml(camera: "  - id: cam1\n    source: {type: replay, path: images}\n    reference: {recipes: {top: top.png}}\n"),
                         at: "cameras[0].reference", containing: "trigger.mode software")
        assertOneProblem(yaml(camera: triggered + "    reference: {recipes: {top: nope.png}}\n"),
                         at: "cameras[0].reference.recipes.top", containing: "does not exist")
        assertOneProblem(yaml(camera: triggered + "    reference: {recipes: {\"caf\\u00e9\": top.png}}\n"),
                         at: "cameras[0].reference.recipes.café", containing: "printable ASCII")
    }
}
