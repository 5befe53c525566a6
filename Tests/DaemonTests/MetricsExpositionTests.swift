import Foundation
import XCTest
import API
@testable import Daemon
import Logging

/// Prometheus conventions on `/metrics` with every metric in use: HELP and TYPE for each family, `_total` on
/// counters, base units. Scripts/tests/deb-install.test runs `promtool check metrics` on a live daemon's too.
final class MetricsExpositionTests: XCTestCase {
    func testEveryMetricHasHelpTypeAndConventionalName() throws {
        let metrics = PipelineMetrics()
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(60))
        let server = try APIServer(settings: .init(host: "127.0.0.1", port: 0),
                                   station: StationFacade(metrics: metrics, health: health), logger: Logger(label: "test.http"))
        defer { server.shutdown() }
        metrics.camera("cam1").captured.increment()
        var score = GroundTruthScore()
        score.injected = 3; score.found = 2; score.foundRightClass = 2; score.falseAlarms = 1; score.detections = 3
        metrics.count(score, camera: "cam1")
        metrics.countDefect(camera: "cam1", className: "short")
        metrics.setThreshold(camera: "cam1", className: "short", 0.4)
        metrics.record(.total, nanoseconds: 30_000_000)
        metrics.countFrameError(camera: "cam1", reason: .truncatedJPEG)
        metrics.countAuthFailure(reason: "missing")
        metrics.countTrigger(camera: "cam1", source: "http", outcome: "ok")
        let body = try httpGet(port: server.port, path: "/metrics").body

        var help: Set<String> = [], types: [String: String] = [:]
        for line in body.split(separator: "\n") where line.hasPrefix("# ") {
            let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
            XCTAssertGreaterThanOrEqual(parts.count, 4, "short comment line: \(line)")
            if parts[1] == "HELP" { help.insert(parts[2]) } else if parts[1] == "TYPE" { types[parts[2]] = parts[3] }
        }
        XCTAssertEqual(Set(types.keys), Set(PipelineMetrics.help.keys), "every metric is exposed, and only these")
        XCTAssertEqual(help, Set(types.keys), "a HELP line for every metric")
        for (name, type) in types {
            XCTAssertEqual(name.hasSuffix("_total"), type == "counter", "\(name) is a \(type)")
            if type == "histogram" { XCTAssertTrue(name.hasSuffix("_seconds"), name) }
        }
        let build = BuildInfo.current
        XCTAssertTrue(body.contains("inspectd_build_info{version=\"\(build.version)\",commit=\"\(build.commit)\"} 1")
                      || body.contains("inspectd_build_info{commit=\"\(build.commit)\",version=\"\(build.version)\"} 1"),
                      body)
        // The heap's parts are read at the scrape: this process has a heap in use, and SQLite's share fits in it.
        func memory(_ kind: String) -> Double? {
            body.split(separator: "\n").first { $0.hasPrefix("inspectd_memory_bytes{kind=\"\(kind)\"} ") }
                .flatMap { Double($0.split(separator: " ").last!) }
        }
        let inUse = try XCTUnwrap(memory("heap_in_use"), body)
        XCTAssertGreaterThan(inUse, 0, body)
        XCTAssertLessThanOrEqual(try XCTUnwrap(memory("sqlite"), body), inUse, body)
        XCTAssertNotNil(memory("heap_free"), body); XCTAssertNotNil(memory("heap_mmapped"), body)
    }
}
