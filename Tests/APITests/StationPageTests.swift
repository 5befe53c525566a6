import Foundation
import TestSupport
import XCTest

/// The station page (issue 21) in headless Chromium against a running daemon with `http.auth` on: served
/// without a token, it asks for one, then shows the station, a live tile per camera, the camera view, and an
/// image inspected on request (Tests/Web/station_page.py, selenium + Debian's chromium-driver).
final class StationPageTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-page") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testThePageShowsTheStationLiveAndInspectsAnUploadedImage() throws {
        let python = TestProcess.python
        for tool in [python, "/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw TestProcess.Failure(description: "\(tool) is missing: run Scripts/setup (chromium, chromium-driver, selenium)")
        }
        let operatorToken = "operator-page-0123456789"
        let viewerToken = "viewer-page-0123456789ab"
        try "\(operatorToken) operator\n\(viewerToken) viewer\n".write(to: dir.appendingPathComponent("tokens"), atomically: true, encoding: .utf8)
        let daemon = try RunningDaemon(yaml: """
            site: {line: page, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1, threads_per_worker: 1}
            detection:
              adaptive: {enabled: true, classes: [spur], window: 10, min_samples: 2, floor: 0.05}
            cameras:
              - id: cam1
                source: {type: synthetic, width: 320, height: 320, fps: 4, defects_per_frame: [0, 2], seed: 5}
                queue_size: 3
              - id: line
                source: {type: synthetic, width: 320, height: 320, fps: 4, seed: 9}
                trigger: {mode: software, timeout: 20s}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: true, dir: snapshots}
            http: {listen: "127.0.0.1:0", auth: {tokens_file: tokens}}
            shutdown_timeout: 20s
            """, directory: dir)
        defer { daemon.stop() }
        // The page's own files need no token; the API behind it does.
        let page = try daemon.client.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.contentType.hasPrefix("text/html"), page.contentType)
        XCTAssertTrue(page.text.contains("/ui/station.js"))
        XCTAssertEqual(try daemon.client.get("/ui/station.js").status, 200)
        XCTAssertEqual(try daemon.client.get("/api/v1/status").status, 401)

        let val = TestProcess.shared + "/datasets/deeppcb/images/val/"
        let image = val + (try FileManager.default.contentsOfDirectory(atPath: val).filter { $0.hasSuffix(".jpg") }.sorted()[0])
        let script = TestProcess.repositoryRoot.appendingPathComponent("Tests/Web/station_page.py").path
        let run = try TestProcess.run(python, [script, "http://127.0.0.1:\(daemon.client.port)", operatorToken, "cam1", image, viewerToken, "line", "spur"],
                                      timeout: 300)
        print(run.output)
        XCTAssertEqual(run.status, 0, run.output)
    }
}
