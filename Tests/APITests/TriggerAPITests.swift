import Foundation
import TestSupport
import XCTest

/// Triggered inspection end to end, through the real transports: a software-triggered synthetic camera judged
/// only when a trigger arrives over HTTP or from a PLC (pymodbus over Modbus TCP), its result recorded in the
/// audit database with the part's fields and published on `{prefix}/{camera}/result` of a real mosquitto; a
/// retried trigger id answered without a second inspection; a camera that is down answering every trigger with a
/// recorded camera_down error (Modbus code 3), and one with no frames left (a finished replay) with a timeout.
final class TriggerAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-trigger") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// One DeepPCB val image (from ../shared, never copied into the repository).
    private static var oneImage: String {
        let dir = TestProcess.shared + "/datasets/deeppcb/images/val"
        let first = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.hasSuffix(".jpg") }.sorted().first
        return dir + "/" + (first ?? "missing.jpg")
    }

    private func sql(_ db: String, _ query: String) throws -> String {
        try TestProcess.run("sqlite3", ["-readonly", "-separator", "|", "-cmd", ".timeout 10000", db, query]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testTriggersOverHTTPAndModbusInspectThePartAndRecordAndPublishItsResult() throws {
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let subscriber = try MosquittoSubscriber(broker: broker, topic: "trg/s1/#", clientID: "trg-sub", directory: dir)
        defer { subscriber.stop() }
        let daemon = try RunningDaemon(yaml: """
            site: {line: trg, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1}
            cameras:
              - id: line1
                source: {type: synthetic, width: 640, height: 640, fps: 10, seed: 7}
                trigger: {mode: software, timeout: 20s, queue: 4}
              - id: nocam
                source: {type: v4l2, device: /dev/video-inspectd-test-missing}
                trigger: {mode: software, timeout: 300ms}
              - id: free
                source: {type: synthetic, width: 320, height: 320, fps: 1, seed: 3}
              - id: once
                source: {type: replay, path: \(Self.oneImage), loop: false}
                trigger: {mode: software, timeout: 300ms}
            detection: {confidence: 0.3}
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: trg-daemon, topic_prefix: trg/s1}
            audit: {path: state/audit.db, batch_interval: 50ms}
            http: {listen: "127.0.0.1:0"}
            plc:
              modbus: {listen: "127.0.0.1:0", unit_id: 3}
            """, directory: dir)
        defer { daemon.stop() }
        let http = daemon.client
        func trigger(_ camera: String, _ json: String) throws -> HTTPClient.Answer {
            let body = dir.appendingPathComponent("trigger-\(UUID().uuidString).json")
            try json.write(to: body, atomically: true, encoding: .utf8)
            return try http.request("POST", "/api/v1/cameras/\(camera)/trigger", bodyFile: body.path,
                                    headers: ["Content-Type": "application/json"])
        }
        let db = dir.appendingPathComponent("state/audit.db").path

        // HTTP: the part's inspection comes back with its fields.
        let first = try trigger("line1", #"{"part_id": "PCB-0001", "lot": "L7", "order": "PO-9", "meta": {"shift": 2}, "trigger_id": "t-1"}"#)
        XCTAssertEqual(first.status, 200, first.text)
        let a = try XCTUnwrap(first.object, first.text)
        XCTAssertEqual(a["part_id"] as? String, "PCB-0001")
        XCTAssertEqual(a["lot"] as? String, "L7")
        XCTAssertEqual(a["trigger_id"] as? String, "t-1")
        XCTAssertTrue(["OK", "NG"].contains(a["verdict"] as? String ?? ""), first.text)
        let sequence = try XCTUnwrap(a["sequence"] as? Int, first.text)

        // A retry with the same trigger id: the same result, no second inspection.
        let retry = try trigger("line1", #"{"part_id": "PCB-0001", "trigger_id": "t-1"}"#)
        XCTAssertEqual(retry.status, 200, retry.text)
        XCTAssertEqual(retry.object?["sequence"] as? Int, sequence, retry.text)
        let second = try trigger("line1", #"{"part_id": "PCB-0002"}"#)
        XCTAssertEqual(second.status, 200, second.text)
        XCTAssertGreaterThan(second.object?["sequence"] as? Int ?? 0, sequence, "triggers are inspected in order")

        // Bad documents and wrong cameras are named.
        let bad = try trigger("line1", #"{"part_id": ""}"#)
        XCTAssertEqual(bad.status, 400, bad.text)
        XCTAssertTrue(bad.text.contains("part_id"), bad.text)
        XCTAssertEqual(try trigger("nope", #"{"part_id": "X"}"#).status, 404)
        let free = try trigger("free", #"{"part_id": "X"}"#)
        XCTAssertEqual(free.status, 409, free.text)

        // A camera that is down (no such device): the trigger finds no frame within its timeout, answered 503
        // camera_down with the reason and recorded as an error of that part.
        let late = try trigger("nocam", #"{"part_id": "PCB-LATE"}"#)
        XCTAssertEqual(late.status, 503, late.text)
        XCTAssertTrue(late.text.contains("camera_down") && late.text.contains("video-inspectd-test-missing"), late.text)
        // A camera that is up but has no frame to give (its replay finished after one image): 504 trigger_timeout.
        XCTAssertEqual(try trigger("once", #"{"part_id": "ONCE-1"}"#).status, 200)
        let none = try trigger("once", #"{"part_id": "ONCE-2"}"#)
        XCTAssertEqual(none.status, 504, none.text)
        XCTAssertTrue(none.text.contains("trigger_timeout"), none.text)

        // The PLC: the whole handshake, twice, on the first triggered camera (block 0), then on the dead one (block 1).
        let port = try XCTUnwrap(daemon.service.modbusPort, "no Modbus server")
        let script = TestProcess.repositoryRoot.appendingPathComponent("Tests/PLC/plc_handshake.py").path
        let plc = try TestProcess.run(TestProcess.python, [script, "\(port)", "3", "0", "PLC-1", "PLC-2"], timeout: 120)
        XCTAssertEqual(plc.status, 0, plc.output)
        let cycles = plc.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(cycles.count, 2, plc.output)
        for c in cycles {
            XCTAssertEqual(c["handshake"] as? Int, 1, "\(c)")
            XCTAssertEqual(c["error"] as? Int, 0, "\(c)")
            XCTAssertTrue([1, 2].contains(c["verdict"] as? Int ?? 0), "verdict OK (1) or NG (2): \(c)")
        }
        let dead = try TestProcess.run(TestProcess.python, [script, "\(port)", "3", "1", "PLC-LATE"], timeout: 120)
        XCTAssertEqual(dead.status, 0, dead.output)
        XCTAssertTrue(dead.output.contains(#""error": 3"#), "camera down, error code 3: \(dead.output)")

        // MQTT: a message that is no trigger is answered with an error and the subscription goes on; a v5 trigger
        // with a response topic and correlation data gets its result there, with the correlation data.
        let replies = Process()
        replies.executableURL = URL(fileURLWithPath: try TestProcess.resolve("mosquitto_sub"))
        replies.arguments = broker.clientArguments() + ["-V", "mqttv5", "-t", "trg/replies/plc7", "-q", "1", "-C", "1",
                                                        "-W", "120", "-F", "%D|%p"]
        let replyOut = Pipe()
        replies.standardOutput = replyOut
        try replies.run()
        Thread.sleep(forTimeInterval: 0.5)  // let it subscribe (a missed reply fails the test below, not a hang)
        func publish(_ payload: String, properties: [String] = []) throws {
            let r = try TestProcess.run("mosquitto_pub", broker.clientArguments() + ["-V", "mqttv5", "-q", "1",
                                        "-t", "trg/s1/line1/trigger", "-m", payload] + properties)
            XCTAssertEqual(r.status, 0, r.output)
        }
        try publish("not json")
        try publish(#"{"part_id": "MQ-1", "recipe": "top"}"#,
                    properties: ["-D", "publish", "response-topic", "trg/replies/plc7", "-D", "publish", "correlation-data", "corr-42"])
        replies.waitUntilExit()
        let reply = String(decoding: replyOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(reply.hasPrefix("corr-42|"), "the reply carries the correlation data: \(reply)")
        XCTAssertTrue(reply.contains(#""part_id":"MQ-1""#) && reply.contains(#""trigger_source":"mqtt""#), reply)
        let refused = subscriber.wait(timeout: 60) { $0.contains { $0.topic == "trg/s1/line1/result" && $0.payload.contains("bad_trigger") } }
        XCTAssertTrue(refused.contains { $0.topic == "trg/s1/line1/result" && $0.payload.contains("bad_trigger: body: not JSON") },
                      refused.filter { $0.topic.hasSuffix("/result") }.map(\.payload).joined(separator: "\n"))

        let recorded = try daemon.wait(60) {
            try sql(db, "SELECT count(*) FROM inspections WHERE part_id IS NOT NULL") == "9"
        }
        let onRecord = try sql(db, "SELECT part_id, verdict FROM inspections WHERE part_id IS NOT NULL")
        XCTAssertTrue(recorded, "nine triggered inspections on record: \(onRecord)")

        // The audit database: one row per part (the retry made none), with its fields; the triggered camera judged
        // no frame without a trigger; the PLC's sequence numbers are the rows'.
        XCTAssertEqual(try sql(db, "SELECT part_id, lot, order_id, trigger_id, trigger_source, sequence FROM inspections WHERE part_id = 'PCB-0001'"),
                       "PCB-0001|L7|PO-9|t-1|http|\(sequence)")
        XCTAssertEqual(try sql(db, "SELECT part_meta FROM inspections WHERE part_id = 'PCB-0001'"), #"{"shift":2}"#)
        XCTAssertEqual(try sql(db, "SELECT count(*) FROM inspections WHERE camera = 'line1' AND part_id IS NULL"), "0",
                       "a triggered camera judges only triggered frames")
        XCTAssertEqual(try sql(db, "SELECT verdict, trigger_source, substr(error, 1, 11) FROM inspections WHERE part_id = 'PCB-LATE'"),
                       "ERROR|http|camera_down")
        XCTAssertEqual(try sql(db, "SELECT verdict, trigger_source, substr(error, 1, 11) FROM inspections WHERE part_id = 'PLC-LATE'"),
                       "ERROR|modbus|camera_down")
        XCTAssertEqual(try sql(db, "SELECT verdict, substr(error, 1, 15) FROM inspections WHERE part_id = 'ONCE-2'"),
                       "ERROR|trigger_timeout")
        for c in cycles {
            let part = c["part"] as? String ?? ""
            XCTAssertEqual(try sql(db, "SELECT sequence, trigger_source FROM inspections WHERE part_id = '\(part)'"),
                           "\(c["sequence"] as? Int ?? -1)|modbus")
        }
        XCTAssertGreaterThan(Int(try sql(db, "SELECT count(*) FROM inspections WHERE camera = 'free'")) ?? 0, 0,
                             "the free-running camera keeps inspecting")

        XCTAssertEqual(try sql(db, "SELECT recipe, trigger_source FROM inspections WHERE part_id = 'MQ-1'"), "top|mqtt")

        // The broker: one result per triggered inspection, OK ones included, with the part's fields (and the
        // refused MQTT message's error).
        let results = subscriber.wait(timeout: 60) { $0.filter { $0.topic.hasSuffix("/result") }.count >= 10 }
            .filter { $0.topic.hasSuffix("/result") }
        XCTAssertEqual(results.count, 10, results.map(\.payload).joined(separator: "\n"))
        let payload = try XCTUnwrap(results.compactMap { m -> [String: Any]? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(m.payload.utf8)) as? [String: Any] else { return nil }
            return o["part_id"] as? String == "PCB-0001" ? o : nil
        }.first, "no result for PCB-0001")
        XCTAssertEqual(payload["schema"] as? String, "inspectd.result/1")
        XCTAssertEqual(payload["trigger_source"] as? String, "http")
        XCTAssertEqual(payload["lot"] as? String, "L7")
        XCTAssertEqual((payload["meta"] as? [String: Any])?["shift"] as? Int, 2)
        XCTAssertEqual(payload["sequence"] as? Int, sequence)
        XCTAssertTrue(results.contains { $0.topic == "trg/s1/nocam/result" && $0.payload.contains("PLC-LATE") })

        // The API finds a part by its id, with its fields.
        let listed = try http.get("/api/v1/inspections?part_id=PCB-0001")
        XCTAssertEqual(listed.status, 200, listed.text)
        let items = (listed.object?["inspections"] as? [[String: Any]]) ?? []
        XCTAssertEqual(items.count, 1, listed.text)
        XCTAssertEqual(items.first?["part_id"] as? String, "PCB-0001")
        XCTAssertEqual(items.first?["trigger_source"] as? String, "http")
        XCTAssertEqual(items.first?["sequence"] as? Int, sequence)

        // The live event stream names the part of an ERROR (or NG) inspection, as the MQTT payload does. curl ends
        // the stream itself after 5 s (it inherits this process's ignored SIGTERM).
        let url = "http://127.0.0.1:\(daemon.port)/api/v1/events?last_event_id=0-0"
        let stream = try TestProcess.run("curl", ["-sSN", "-m", "5", url], timeout: 60).output
        let lateEvent = stream.split(separator: "\n").first { $0.hasPrefix("data: ") && $0.contains(#""part_id":"PCB-LATE""#) }
        XCTAssertNotNil(lateEvent, String(stream.prefix(4000)))
        XCTAssertTrue(lateEvent?.contains(#""trigger_source":"http""#) ?? false, String(lateEvent ?? ""))

        let metrics = try http.get("/metrics").text
        XCTAssertTrue(metrics.contains(#"inspectd_triggers_total{camera="nocam",outcome="camera_down",source="modbus"} 1"#)
                      || metrics.contains(#"inspectd_triggers_total{camera="nocam",source="modbus",outcome="camera_down"} 1"#),
                      metrics.split(separator: "\n").filter { $0.contains("triggers_total") }.joined(separator: "\n"))
        XCTAssertEqual(daemon.stop(), 0, "a clean stop")
    }

    /// A golden image per product: the recipe a trigger names chooses the board its frame is aligned to; another
    /// product's board refuses the frame, and a recipe the camera does not know, or none without a default image,
    /// is an ERROR result naming the recipes, never a verdict.
    func testATriggersRecipeChoosesItsGoldenImage() throws {
        let data = TestProcess.shared + "/datasets/deeppcb"
        let names = try FileManager.default.contentsOfDirectory(atPath: data + "/images/val").filter { $0.hasSuffix(".jpg") }.sorted()
        let image = data + "/images/val/" + names[0]
        let right = data + "/templates/val/" + names[0], wrong = data + "/templates/val/" + names[7]
        let model = TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-ref-yolov8n.int8.onnx").path
        let daemon = try RunningDaemon(yaml: """
            site: {line: trg, station: s2}
            model: {path: \(model)}
            workers: {count: 1}
            cameras:
              - id: board
                source: {type: replay, path: \(image), loop: true}
                trigger: {mode: software, timeout: 20s}
                reference:
                  recipes: {top-\(names[0]): \(right), other: \(wrong)}
            mqtt: {enabled: false}
            audit: {path: state/audit.db, batch_interval: 50ms}
            http: {listen: "127.0.0.1:0"}
            """, directory: dir)
        defer { daemon.stop() }
        func trigger(_ json: String) throws -> [String: Any] {
            let body = dir.appendingPathComponent("trigger-\(UUID().uuidString).json")
            try json.write(to: body, atomically: true, encoding: .utf8)
            let a = try daemon.client.request("POST", "/api/v1/cameras/board/trigger", bodyFile: body.path,
                                              headers: ["Content-Type": "application/json"])
            XCTAssertEqual(a.status, 200, a.text)
            return a.object ?? [:]
        }
        let judged = try trigger(#"{"part_id": "R-1", "recipe": "top-\#(names[0])"}"#)
        XCTAssertTrue(["OK", "NG"].contains(judged["verdict"] as? String ?? ""), "\(judged)")
        let refused = try trigger(#"{"part_id": "R-2", "recipe": "other"}"#)
        XCTAssertEqual(refused["verdict"] as? String, "ERROR", "\(refused)")
        XCTAssertTrue((refused["error"] as? String ?? "").contains("does_not_match_reference"), "\(refused)")
        let unknown = try trigger(#"{"part_id": "R-3", "recipe": "bottom"}"#)
        XCTAssertEqual(unknown["verdict"] as? String, "ERROR", "\(unknown)")
        let why = unknown["error"] as? String ?? ""
        XCTAssertTrue(why.contains("unknown_recipe") && why.contains("'bottom'") && why.contains("other, top-"), why)
        let none = try trigger(#"{"part_id": "R-4"}"#)
        XCTAssertTrue((none["error"] as? String ?? "").contains("no_recipe"), "\(none)")
        let db = dir.appendingPathComponent("state/audit.db").path
        XCTAssertTrue(try daemon.wait(30) { try sql(db, "SELECT count(*) FROM inspections") == "4" })
        XCTAssertEqual(try sql(db, "SELECT part_id || ':' || verdict || ':' || recipe FROM inspections WHERE part_id = 'R-3'"),
                       "R-3:ERROR:bottom")
    }
}
