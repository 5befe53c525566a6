import Foundation
import TestSupport
import XCTest

/// Golden-board inspection through the daemon binary: a frame aligned to its golden image is judged, a frame
/// that does not match its golden image is recorded and published with verdict ERROR and the reason (never
/// judged OK by silence), the synthetic camera's own golden board works with parts placed off it, and a
/// golden-board model on a camera without a reference is a config error naming both.
final class ReferenceInspectionTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("reference-it") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private var model: String { TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-ref-yolov8n.int8.onnx").path }

    private func pair(_ index: Int) throws -> (image: String, template: String) {
        let val = TestProcess.shared + "/datasets/deeppcb"
        let names = try XCTUnwrap(try? FileManager.default.contentsOfDirectory(atPath: val + "/images/val")
            .filter { $0.hasSuffix(".jpg") }.sorted(), "DeepPCB val images missing under \(val) (set INSPECTD_SHARED)")
        let name = names[index]
        let template = val + "/templates/val/" + name
        XCTAssertTrue(FileManager.default.fileExists(atPath: template), "no template \(template)")
        return (val + "/images/val/" + name, template)
    }

    func testAlignedFramesAreJudgedAndUnmatchedFramesAreRecordedAsErrors() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: model), "golden-board model missing: \(model)")
        let binary = try TestProcess.inspectdBinary()
        let (image, template) = try pair(0)
        let other = try pair(7).template
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let subscriber = try MosquittoSubscriber(broker: broker, topic: "inspect/ref/s1/#", clientID: "ref-sub", directory: dir)
        defer { subscriber.stop() }
        let config = dir.appendingPathComponent("inspectd.yaml")
        try """
        site: {line: ref, station: s1}
        model: {path: \(model)}
        workers: {count: 2}
        cameras:
          - id: golden
            source: {type: replay, path: \(image), fps: 5, loop: true}
            reference: {image: \(template)}
          - id: wrong
            source: {type: replay, path: \(image), fps: 5, loop: true}
            reference: {image: \(other)}
          - id: syn
            source: {type: synthetic, fps: 5, seed: 3, defective_fraction: 0.5, shift: 4, rotation: 0.8}
            reference: {}
        mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: inspectd-ref}
        audit: {path: state/audit.db, batch_interval: 50ms}
        metrics: {listen: "127.0.0.1:0"}
        shutdown_timeout: 20s
        """.write(to: config, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", config.path]
        let log = dir.appendingPathComponent("daemon.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = process.standardError
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        func daemonLog() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        func payloads(_ camera: String, _ m: [MosquittoSubscriber.Message]) -> [[String: Any]] {
            m.filter { $0.topic == "inspect/ref/s1/\(camera)/defects" }
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any] }
        }
        let messages = subscriber.wait(timeout: 120) { payloads("wrong", $0).count >= 3 }
        let errors = payloads("wrong", messages)
        XCTAssertGreaterThanOrEqual(errors.count, 3, "no ERROR messages for the wrong golden image; log:\n\(daemonLog())")
        for e in errors {
            XCTAssertEqual(e["verdict"] as? String, "ERROR")
            XCTAssertTrue((e["error"] as? String ?? "").contains("does not match the reference"), "\(e)")
        }
        // Metrics count the unjudged frames by reason.
        let port = try XCTUnwrap(daemonLog().range(of: #"http://127\.0\.0\.1:(\d+)/metrics"#, options: .regularExpression)
            .map { String(daemonLog()[$0]).split(separator: ":").last!.split(separator: "/").first! }.flatMap { Int($0) },
            "no metrics line in the log:\n\(daemonLog())")
        let metrics = try httpGet(port: port, path: "/metrics").body
        XCTAssertTrue(metrics.contains(#"inspectd_frame_errors_total{camera="wrong",reason="does_not_match_reference"}"#),
                      metrics)
        // A reload that rebuilds the worker pool warms the golden-board model up without a golden image.
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "workers: {count: 2}", with: "workers: {count: 1}")
            .write(to: config, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        let deadline = Date().addingTimeInterval(90)
        while !daemonLog().contains("worker pool rebuilt") && !daemonLog().contains("reload rejected") && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
        }
        XCTAssertTrue(daemonLog().contains("worker pool rebuilt"), "reload with a golden-board model failed:\n\(daemonLog())")
        Thread.sleep(forTimeInterval: 2)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, daemonLog())

        let db = dir.appendingPathComponent("state/audit.db").path
        func query(_ sql: String) throws -> String {
            try TestProcess.run("sqlite3", ["-readonly", "-cmd", ".timeout 10000", db, sql]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var counts: [String: Int] = [:]
        for line in try query("SELECT camera || '/' || verdict, count(*) FROM inspections GROUP BY camera, verdict")
            .split(separator: "\n") {
            let f = line.split(separator: "|")
            if f.count == 2 { counts[String(f[0])] = Int(f[1]) }
        }
        XCTAssertGreaterThan((counts["golden/OK"] ?? 0) + (counts["golden/NG"] ?? 0), 2, "\(counts)")
        XCTAssertNil(counts["golden/ERROR"], "the aligned pair was refused: \(counts)\n\(daemonLog())")
        XCTAssertGreaterThanOrEqual(counts["wrong/ERROR"] ?? 0, 3, "\(counts)")
        XCTAssertNil(counts["wrong/OK"], "an unmatched frame was judged OK: \(counts)")
        XCTAssertGreaterThan((counts["syn/OK"] ?? 0) + (counts["syn/NG"] ?? 0), 2, "\(counts)")
        XCTAssertNil(counts["syn/ERROR"], "a synthetic part placed within the limits was refused: \(counts)\n\(daemonLog())")
        XCTAssertTrue(try query("SELECT error FROM inspections WHERE camera = 'wrong' LIMIT 1")
            .contains("does not match the reference"))
        XCTAssertTrue(daemonLog().contains("syn synthetic ground truth: "), daemonLog())
    }

    func testGoldenBoardModelWithoutReferenceIsAConfigErrorNamingBoth() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: model), "golden-board model missing: \(model)")
        let binary = try TestProcess.inspectdBinary()
        let config = dir.appendingPathComponent("bad.yaml")
        try """
        site: {line: ref, station: s1}
        model: {path: \(model)}
        cameras:
          - id: cam9
            source: {type: synthetic}
        mqtt: {enabled: false}
        audit: {path: state/audit.db}
        metrics: {enabled: false}
        """.write(to: config, atomically: true, encoding: .utf8)
        let r = try TestProcess.run(binary, ["run", "--config", config.path])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.output.contains("cameras[0].reference") && r.output.contains("cam9")
                      && r.output.contains("deeppcb-ref-yolov8n.int8.onnx"), r.output)
    }

    /// A golden image frames cannot be aligned to (DeepPCB's near-blank template 20085159, edge strength 0.00) is
    /// refused by `check-config` and by `run` at its key, instead of every frame becoming an ERROR later.
    func testBlankGoldenImageIsAConfigErrorAtItsKey() throws {
        let blank = TestProcess.shared + "/datasets/deeppcb/templates/train/20085159.jpg"
        XCTAssertTrue(FileManager.default.fileExists(atPath: blank), "DeepPCB template missing: \(blank)")
        let binary = try TestProcess.inspectdBinary()
        let config = dir.appendingPathComponent("blank.yaml")
        try """
        site: {line: ref, station: s1}
        model: {path: \(model)}
        cameras:
          - id: cam1
            source: {type: replay, path: \(blank), fps: 1}
            reference:
              image: \(blank)
        mqtt: {enabled: false}
        audit: {path: state/audit.db}
        metrics: {enabled: false}
        """.write(to: config, atomically: true, encoding: .utf8)
        for args in [["check-config", config.path], ["run", "--config", config.path]] {
            let r = try TestProcess.run(binary, args)
            XCTAssertEqual(r.status, 2, "\(args[0]): \(r.output)")
            XCTAssertTrue(r.output.contains("cameras[0].reference") && r.output.contains("too little structure"),
                          "\(args[0]): \(r.output)")
        }
    }
}
