import Foundation
import TestSupport
import XCTest

/// A short run of the HTTP API soak (`inspectd bench http --soak`): the daemon as a child process with mosquitto,
/// clients mixing every kind of request and SSE listeners that cut and resume. Asserts what must hold however
/// busy the machine is: no 5xx but 503, every request answered, and every listener's events exactly the audit
/// database's (no gap, no duplicate). Not the memory verdict or any timing: those are the long run's figures.
final class HTTPSoakTests: XCTestCase {
    func testShortSoakHasNoServerErrorsAndNoEventGaps() throws {
        guard FileManager.default.fileExists(atPath: CLI.shared.appendingPathComponent("datasets/deeppcb/images/val").path) else {
            throw XCTSkip("no DeepPCB val images in \(CLI.shared.path)")
        }
        let model = CLI.repo.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path
        // 45 s: each listener cuts its connection after 10-40 s, so every one resumes at least once.
        let (_, output) = try TestProcess.run(CLI.binary, ["bench", "http", "--soak", "45", "--clients", "20", "--listeners", "4",
                                                           "--memory-every", "15", "--model", model],
                                              environment: ["INSPECTD_SHARED": CLI.shared.path], timeout: 240)
        let lines = output.split(separator: "\n").map(String.init)
        guard let codes = lines.first(where: { $0.contains("status codes:") }),
              let sse = lines.first(where: { $0.contains("SSE against the audit database") }),
              let received = lines.first(where: { $0.contains("events received by") }) else {
            return XCTFail("the soak printed no report:\n\(output)")
        }
        // "status codes: 200 5120, 404 3, 429 40, 503 2"
        let counts = codes.components(separatedBy: "status codes:")[1].split(separator: ",").map {
            $0.split(separator: " ").map(String.init)
        }
        XCTAssertFalse(counts.isEmpty)
        for count in counts {
            XCTAssertNotEqual(count.first, "no", "requests without an answer:\n\(output)")
            if let code = Int(count.first ?? ""), code >= 500 { XCTAssertEqual(code, 503, "a 5xx answer:\n\(output)") }
        }
        XCTAssertTrue(sse.hasSuffix("listeners with a gap 0, with a duplicate 0"), output)
        XCTAssertTrue(received.hasSuffix("resumed elsewhere than the last id: 0"), output)
        XCTAssertFalse(received.contains(": 0 events received"), output)
        XCTAssertFalse(received.contains(", 0 reconnects"), "no listener resumed:\n\(output)")
        XCTAssertTrue(lines.contains("  daemon exit code: 0"), output)
    }
}
