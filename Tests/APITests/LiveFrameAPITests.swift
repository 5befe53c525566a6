import Foundation
import Imaging
import TestSupport
import XCTest

/// `GET /api/v1/cameras/{id}/frame.jpg` against a running daemon with a synthetic camera: the latest frame as
/// JPEG, `?annotated=1` with the ROI drawn, 404 for an unknown camera, 503 for a camera with no frame yet, and
/// `/cameras` telling what the source delivers.
final class LiveFrameAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-frame") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testLatestFramePlainAndAnnotated() throws {
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras:
              - id: syn
                source: {type: synthetic, width: 320, height: 320, fps: 4, defects_per_frame: 3}
                roi:
                  polygon: [[20, 20], [300, 20], [300, 300], [20, 300]]
                  masks: [[[200, 200], [260, 200], [260, 260], [200, 260]]]
              - id: unplugged
                source: {type: v4l2, device: /dev/inspectd-no-such-camera, width: 640, height: 480, fps: 5}
            mqtt: {enabled: false}
            audit: {path: state/audit.db}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0"}
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client
        XCTAssertTrue(try daemon.wait { (try http.get("/api/v1/cameras/syn").object?["frames_processed"] as? Int ?? 0) > 0 },
                      "the synthetic camera was not inspected")

        let plain = try http.get("/api/v1/cameras/syn/frame.jpg")
        XCTAssertEqual(plain.status, 200, plain.text)
        XCTAssertEqual(plain.contentType, "image/jpeg")
        XCTAssertEqual(plain.headers["cache-control"], "no-store")
        XCTAssertNotNil(plain.headers["x-frame-sequence"].flatMap { UInt64($0) }, "\(plain.headers)")
        XCTAssertNotNil(plain.headers["x-frame-captured-at"])
        // Saved under a name with the camera, capture time and sequence (the page's "Download raw frame").
        let sequence = plain.headers["x-frame-sequence"] ?? ""
        let stamp = (plain.headers["x-frame-captured-at"] ?? "").replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        XCTAssertEqual(plain.headers["content-disposition"], "inline; filename=\"syn-\(stamp)-\(sequence).jpg\"")
        let decoder = try JPEGDecoder()
        let size = try plain.body.withUnsafeBytes { try decoder.header($0) }
        XCTAssertEqual(size.width, 320); XCTAssertEqual(size.height, 320)

        let annotated = try http.get("/api/v1/cameras/syn/frame.jpg?annotated=1")
        XCTAssertEqual(annotated.status, 200, annotated.text)
        XCTAssertEqual(annotated.contentType, "image/jpeg")
        XCTAssertTrue(annotated.headers["content-disposition"]?.hasSuffix("-annotated.jpg\"") == true, "\(annotated.headers)")
        let rgb = PixelBuffer(capacity: 320 * 320 * 3)
        try annotated.body.withUnsafeBytes { _ = try decoder.decode($0, into: rgb) }
        XCTAssertEqual(rgb.width, 320)
        func pixel(_ x: Int, _ y: Int) -> (Int, Int, Int) {
            let p = rgb.bytes.assumingMemoryBound(to: UInt8.self) + (y * rgb.width + x) * 3
            return (Int(p[0]), Int(p[1]), Int(p[2]))
        }
        // The ROI's top edge (y 20–21) is drawn green (JPEG blurs colours a little: a margin, not exact values).
        // A defect's box or label may be drawn over part of it, so most of the edge, not every point, is green.
        let xs = Array(stride(from: 60, through: 250, by: 10))
        let green = xs.filter { x in
            let (r, g, b) = pixel(x, 20)
            return g - max(r, b) > 60
        }
        XCTAssertGreaterThanOrEqual(green.count, xs.count / 2, "the ROI's top edge is not green: \(xs.map { pixel($0, 20) })")

        func expect(_ answer: HTTPClient.Answer, _ status: Int, _ code: String, _ fragment: String, line: UInt = #line) {
            XCTAssertEqual(answer.status, status, answer.text, line: line)
            XCTAssertEqual(answer.contentType, "application/json", line: line)
            XCTAssertEqual(answer.object?["error"] as? String, code, answer.text, line: line)
            XCTAssertTrue((answer.object?["detail"] as? String ?? "").contains(fragment), answer.text, line: line)
        }
        expect(try http.get("/api/v1/cameras/nope/frame.jpg"), 404, "unknown_camera", "no camera 'nope'")
        expect(try http.get("/api/v1/cameras/syn/frame.jpg?annotated=maybe"), 400, "bad_request", "annotated=")
        let none = try http.get("/api/v1/cameras/unplugged/frame.jpg")
        expect(none, 503, "no_frame", "has not delivered a frame")
        XCTAssertEqual(none.headers["retry-after"], "1")

        // What the sources deliver: the synthetic camera's JPEG frames at their size; nothing yet for the other.
        let cameras = try XCTUnwrap(http.get("/api/v1/cameras").list)
        let syn = try XCTUnwrap(cameras.first { $0["id"] as? String == "syn" })
        let negotiated = try XCTUnwrap(syn["negotiated"] as? [String: Any], "\(syn)")
        XCTAssertEqual(negotiated["format"] as? String, "jpeg")
        XCTAssertEqual(negotiated["width"] as? Int, 320)
        XCTAssertEqual(negotiated["height"] as? Int, 320)
        XCTAssertEqual(negotiated["fps"] as? Double, 4)
        XCTAssertNil(negotiated["driver_buffers"])
        let unplugged = try XCTUnwrap(cameras.first { $0["id"] as? String == "unplugged" })
        XCTAssertNil(unplugged["negotiated"], "\(unplugged)")
        XCTAssertEqual(daemon.stop(), 0)
    }
}
