import Foundation
import TestSupport
import XCTest

/// `POST /api/v1/detect` against a running daemon with no camera (a pure inspection server): the answer equals
/// `inspectd detect` on the same DeepPCB val images with the same thresholds; a camera's rules apply with
/// `camera=`; 404, 413, 415, 422 and 429 answer as documented, in JSON.
final class DetectAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-detect") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private func valImages(_ n: Int) throws -> [String] {
        let valDir = TestProcess.shared + "/datasets/deeppcb/images/val"
        let images = (try? FileManager.default.contentsOfDirectory(atPath: valDir))?
            .filter { $0.hasSuffix(".jpg") }.sorted().prefix(n).map { valDir + "/" + $0 } ?? []
        guard images.count == n else { throw TestProcess.Failure(description: "need \(n) DeepPCB val images in \(valDir)") }
        return images
    }

    func testPureInspectionServerAnswersAsInspectdDetect() throws {
        let images = try valImages(3)
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras: []
            detection: {confidence: 0.25, nms: {iou: 0.7}}
            mqtt: {enabled: false}
            audit: {path: state/audit.db}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0", max_body: 4MB}
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client
        XCTAssertEqual(try http.get("/api/v1/cameras").list?.count, 0)

        let binary = try TestProcess.inspectdBinary()
        let cli = try TestProcess.run(binary, ["detect", "--model", RunningDaemon.model, "--conf", "0.25", "--iou", "0.7"]
                                      + images, timeout: 300)
        XCTAssertEqual(cli.status, 0, cli.output)
        let lines = cli.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["image"] != nil }
        XCTAssertEqual(lines.count, images.count, cli.output)
        let sha = String(try TestProcess.run("sha256sum", [RunningDaemon.model]).output.prefix(64))
        var defects = 0
        for (image, line) in zip(images, lines) {
            let answer = try http.request("POST", "/api/v1/detect", bodyFile: image, headers: ["Content-Type": "image/jpeg"])
            XCTAssertEqual(answer.status, 200, answer.text)
            let a = try XCTUnwrap(answer.object, answer.text)
            XCTAssertEqual(a["width"] as? Int, line["width"] as? Int)
            XCTAssertEqual(a["height"] as? Int, line["height"] as? Int)
            XCTAssertEqual(a["model"] as? String, "deeppcb-yolov8n.int8.onnx")
            XCTAssertEqual(a["model_sha256"] as? String, sha)
            XCTAssertNil(a["camera"] as? String)
            let got = (a["defects"] as? [[String: Any]]) ?? [], want = (line["detections"] as? [[String: Any]]) ?? []
            XCTAssertEqual(got.count, want.count, "\(image): \(answer.text) vs \(line)")
            XCTAssertEqual(a["verdict"] as? String, want.isEmpty ? "OK" : "NG")
            for (g, w) in zip(got, want) {
                XCTAssertEqual(g["class"] as? String, w["class"] as? String)
                XCTAssertEqual(g["class_id"] as? Int, w["class_id"] as? Int)
                XCTAssertEqual(g["confidence"] as? Double, w["confidence"] as? Double)
                XCTAssertEqual(g["box"] as? [Double], w["box"] as? [Double])
                XCTAssertEqual(g["threshold"] as? Double ?? 0, 0.25, accuracy: 1e-6)
            }
            defects += got.count
            let latency = try XCTUnwrap(a["latency_ms"] as? [String: Double])
            XCTAssertEqual(Set(latency.keys), ["queue", "preprocess", "inference", "postprocess", "total"])
            XCTAssertGreaterThan(latency["inference"] ?? 0, 0)
        }
        XCTAssertGreaterThan(defects, 0, "DeepPCB val images have defects; none found")

        // A PNG is read too (a 96 × 64 grey one written by Python's zlib: libpng decodes it, not the JPEG path).
        let png = dir.appendingPathComponent("grey.png").path
        let writer = """
            import sys, zlib, struct
            w, h = 96, 64
            raw = b"".join(b"\\x00" + bytes([128]) * w for _ in range(h))
            def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
            open(sys.argv[1], "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
            """
        XCTAssertEqual(try TestProcess.run("python3", ["-c", writer, png]).status, 0)
        let fromPNG = try http.request("POST", "/api/v1/detect", bodyFile: png, headers: ["Content-Type": "image/png"])
        XCTAssertEqual(fromPNG.status, 200, fromPNG.text)
        XCTAssertEqual(fromPNG.object?["width"] as? Int, 96); XCTAssertEqual(fromPNG.object?["height"] as? Int, 64)

        // Errors, each JSON {error, detail} naming the problem.
        func expect(_ answer: HTTPClient.Answer, _ status: Int, _ code: String, _ fragment: String,
                    line: UInt = #line) {
            XCTAssertEqual(answer.status, status, answer.text, line: line)
            XCTAssertEqual(answer.contentType, "application/json", line: line)
            XCTAssertEqual(answer.object?["error"] as? String, code, answer.text, line: line)
            XCTAssertTrue((answer.object?["detail"] as? String ?? "").contains(fragment), answer.text, line: line)
        }
        let text = dir.appendingPathComponent("notes.txt")
        try Data("hello, this is not an image".utf8).write(to: text)
        expect(try http.request("POST", "/api/v1/detect", bodyFile: text.path, headers: ["Content-Type": "image/jpeg"]),
               422, "unreadable_image", "neither JPEG nor PNG")
        expect(try http.request("POST", "/api/v1/detect", bodyFile: text.path, headers: ["Content-Type": "text/plain"]),
               415, "unsupported_media_type", "image/jpeg or image/png")
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: images[0]))
        let truncated = dir.appendingPathComponent("truncated.jpg")
        try jpeg.prefix(jpeg.count / 3).write(to: truncated)
        expect(try http.request("POST", "/api/v1/detect", bodyFile: truncated.path, headers: ["Content-Type": "image/jpeg"]),
               422, "unreadable_image", "cannot be decoded")
        let big = dir.appendingPathComponent("big.jpg")
        try (jpeg + Data(count: 5 << 20)).write(to: big)
        expect(try http.request("POST", "/api/v1/detect", bodyFile: big.path, headers: ["Content-Type": "image/jpeg"]),
               413, "payload_too_large", "http.max_body")
        expect(try http.request("POST", "/api/v1/detect?camera=nope", bodyFile: images[0], headers: ["Content-Type": "image/jpeg"]),
               404, "unknown_camera", "no camera 'nope'")
        XCTAssertEqual(daemon.stop(), 0)
    }

    /// `camera=` applies that camera's rules: a mask over the whole image leaves nothing, a higher threshold
    /// fewer defects; a full queue answers 429 with Retry-After, and the camera goes on being inspected.
    func testCameraRulesAndBusyQueue() throws {
        let images = try valImages(1)
        try images.joined(separator: "\n").write(to: dir.appendingPathComponent("images.txt"), atomically: true, encoding: .utf8)
        let daemon = try RunningDaemon(yaml: """
            site: {line: api, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras:
              - id: masked
                source: {type: replay, list: images.txt, fps: 2, loop: true}
                roi: {masks: [[[0, 0], [5000, 0], [5000, 5000], [0, 5000]]]}
              - id: strict
                source: {type: replay, list: images.txt, fps: 2, loop: true}
                thresholds: {confidence: 0.8}
            detection: {confidence: 0.25}
            mqtt: {enabled: false}
            audit: {path: state/audit.db}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0", detect_queue: 1}
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client
        func detect(_ query: String) throws -> [[String: Any]] {
            let a = try http.request("POST", "/api/v1/detect" + query, bodyFile: images[0], headers: ["Content-Type": "image/jpeg"])
            XCTAssertEqual(a.status, 200, a.text)
            return (a.object?["defects"] as? [[String: Any]]) ?? []
        }
        let all = try detect(""), masked = try detect("?camera=masked"), strict = try detect("?camera=strict")
        XCTAssertGreaterThan(all.count, 0)
        XCTAssertEqual(masked.count, 0, "a mask over the whole image leaves no defect")
        XCTAssertEqual(strict.count, all.filter { ($0["confidence"] as? Double ?? 0) >= 0.8 }.count)
        XCTAssertTrue(strict.allSatisfy { abs(($0["threshold"] as? Double ?? 0) - 0.8) < 1e-6 })

        // 24 requests at once against a queue of 1: some are refused with 429, none fails otherwise.
        let out = dir.appendingPathComponent("parallel")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var args = ["-s", "--parallel", "--parallel-immediate", "--parallel-max", "24",
                    "-w", "%{http_code} %header{retry-after} %{filename_effective}\\n",
                    "-X", "POST", "-H", "Content-Type: image/jpeg", "--data-binary", "@" + images[0]]
        for i in 0..<24 { args += ["-o", out.path + "/\(i).json", "http://127.0.0.1:\(daemon.port)/api/v1/detect"] }
        let run = try TestProcess.run("curl", args, timeout: 300)
        XCTAssertEqual(run.status, 0, run.output)
        var codes: [Int] = []
        for line in run.output.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count >= 2, let code = Int(parts[0]) else { continue }
            codes.append(code)
            if code == 429 {
                XCTAssertEqual(parts.count, 3, "no Retry-After on a 429: \(line)")
                XCTAssertEqual(parts[1], "1")
                let body = try String(contentsOfFile: parts.last ?? "", encoding: .utf8)
                XCTAssertTrue(body.contains("\"error\":\"busy\""), body)
            }
        }
        XCTAssertEqual(codes.count, 24, run.output)
        XCTAssertTrue(codes.allSatisfy { $0 == 200 || $0 == 429 }, "\(codes)")
        XCTAssertTrue(codes.contains(429), "24 requests at once, a queue of 1: none refused: \(codes)")
        XCTAssertTrue(codes.contains(200), "\(codes)")
        let before = try http.get("/api/v1/cameras/strict").object?["frames_processed"] as? Int ?? 0
        XCTAssertTrue(try daemon.wait { (try http.get("/api/v1/cameras/strict").object?["frames_processed"] as? Int ?? 0) > before },
                      "the camera stopped being inspected")
        XCTAssertEqual(daemon.stop(), 0)
    }
}
