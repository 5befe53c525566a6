import Delivery
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `GET /api/v1/events` against a running daemon (a synthetic camera with defects, a real mosquitto broker,
/// `http.auth` on with a viewer token): NG inspections arrive as events whose fields agree with the audit
/// database; a client that disconnects, misses inspections and reconnects with its `Last-Event-ID` gets exactly
/// what was recorded in between (no gap, no duplicate, compared with `sqlite3`); a client that never reads is cut
/// off and counted in `inspectd_http_event_clients_cut_total`.
final class EventsAPITests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("inspectd-api-events") }
    override func tearDown() { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// One parsed SSE event.
    struct Event {
        var id: String
        var type: String
        var data: [String: Any]
        var inspection: Int64 { Int64(id.split(separator: "-").first ?? "") ?? -1 }
        var service: Int64 { Int64(id.split(separator: "-").last ?? "") ?? -1 }
    }

    func testEventsArriveResumeWithoutGapOrDuplicateAndAStalledClientIsCut() throws {
        let viewer = "viewer-events-0123456789"
        try "\(viewer) viewer\n".write(to: dir.appendingPathComponent("tokens"), atomically: true, encoding: .utf8)
        // A backlog already on record: 40 000 NG inspections with two defects each (about 18 MB as events), more
        // than the kernel's socket buffers hold, so a client that never reads stalls the stream.
        let db = dir.appendingPathComponent("state/audit.db").path
        _ = try AuditStore(path: db)
        try sqlite("""
            WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 40000)
            INSERT INTO inspections (camera, sequence, captured_at, verdict, defect_count, latency_ms, model_sha256,
                config_revision, recorded_at)
            SELECT 'old', k, strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour'), 'NG', 2, 12.5, 'backlog', 'r0',
                strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour') FROM n;
            INSERT INTO defects (inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2)
            SELECT id, 0, 'open', 0.91, 0.5, 10, 20, 30, 40 FROM inspections;
            INSERT INTO defects (inspection_id, class_id, class_name, confidence, threshold, x1, y1, x2, y2)
            SELECT id, 1, 'short', 0.82, 0.5, 50, 60, 70, 80 FROM inspections;
            """, db)
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("broker"))
        try broker.start()
        defer { broker.stop() }
        let daemon = try RunningDaemon(yaml: """
            site: {line: events, station: s1}
            model: {path: \(RunningDaemon.model)}
            workers: {count: 1, threads_per_worker: 1}
            cameras:
              - id: cam1
                source: {type: synthetic, width: 320, height: 320, fps: 4, defects_per_frame: [0, 2], seed: 11}
                queue_size: 3
            detection:
              confidence: 0.3
              line_rules: [{id: any-ng, kind: ng_rate, ng_percent: 0, frames: 2}]
            mqtt: {host: 127.0.0.1, port: \(broker.port), client_id: inspectd-api-events}
            audit: {path: state/audit.db, batch_interval: 50ms}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0", auth: {tokens_file: tokens}}
            shutdown_timeout: 20s
            """, directory: dir)
        defer { daemon.stop() }
        let auth = ["Authorization": "Bearer \(viewer)"]
        func sql(_ query: String) throws -> [String] { try sqlite(query, db) }
        func head() throws -> String {
            try sql("SELECT (SELECT coalesce(max(id), 0) FROM inspections) || '-' || (SELECT coalesce(max(id), 0) FROM service_events)")[0]
        }

        // A bad Last-Event-ID is a 400 naming it; without a token, 401.
        let bad = try daemon.client.get("/api/v1/events", headers: auth.merging(["Last-Event-ID": "nope"]) { $1 })
        XCTAssertEqual(bad.status, 400, bad.text)
        XCTAssertTrue((bad.object?["detail"] as? String ?? "").contains("nope"), bad.text)
        XCTAssertEqual(try daemon.client.get("/api/v1/events?last_event_id=x").status, 401)
        // EventSource cannot send headers: the token may come as access_token=, on this endpoint only.
        XCTAssertEqual(try daemon.client.get("/api/v1/events?access_token=\(viewer)&last_event_id=x").status, 400)
        XCTAssertEqual(try daemon.client.get("/api/v1/events?access_token=wrong-token-0123456789&last_event_id=x").status, 401)
        XCTAssertEqual(try daemon.client.get("/api/v1/status?access_token=\(viewer)").status, 401, "access_token= only for events")
        // The caller's role, for clients that offer only what their token may do.
        let session = try daemon.client.get("/api/v1/session", headers: auth)
        XCTAssertEqual(session.status, 200, session.text)
        XCTAssertEqual(session.object?["role"] as? String, "viewer", session.text)
        XCTAssertEqual(session.object?["auth"] as? Bool, true, session.text)
        XCTAssertEqual(try daemon.client.get("/api/v1/session").status, 401)

        // Client A starts at the newest record (given as last_event_id=, as a client without headers would) and
        // reads until it has three NG inspections, then goes away.
        XCTAssertTrue(try daemon.wait { Int(try sql("SELECT count(*) FROM inspections WHERE camera = 'cam1'")[0]) ?? 0 >= 1 })
        let start = try head()
        let a = try readEvents(daemon.port, query: "?last_event_id=\(start)", headers: auth) { events in
            events.filter { $0.type == "inspection" }.count >= 3
        }
        let firstNG = try XCTUnwrap(a.first { $0.type == "inspection" })
        let ngID = try XCTUnwrap(firstNG.data["id"] as? Int)
        XCTAssertEqual("\(firstNG.data["camera"] ?? "")|\(firstNG.data["sequence"] ?? "")|\(firstNG.data["verdict"] ?? "")",
                       try sql("SELECT camera || '|' || sequence || '|' || verdict FROM inspections WHERE id = \(ngID)")[0])
        XCTAssertEqual(firstNG.data["line"] as? String, "events")
        XCTAssertEqual((firstNG.data["defects"] as? [[String: Any]])?.map { $0["class"] as? String ?? "" },
                       try sql("SELECT class_name FROM defects WHERE inspection_id = \(ngID) ORDER BY id"))
        XCTAssertEqual(firstNG.inspection, Int64(ngID), "an inspection event's id names its row")

        // While no client listens, more inspections are recorded; client B resumes with Last-Event-ID and reads
        // until it has passed what was on record when it connected.
        let last = try XCTUnwrap(a.last?.id)
        XCTAssertTrue(try daemon.wait {
            Int(try sql("SELECT count(*) FROM inspections WHERE verdict = 'NG' AND id > \(a.last!.inspection)")[0]) ?? 0 >= 3
        })
        let target = try XCTUnwrap(EventCursorText(try head()))
        let b = try readEvents(daemon.port, query: "", headers: auth.merging(["Last-Event-ID": last]) { $1 }) { events in
            guard let l = events.last else { return false }
            return l.inspection >= target.inspection && l.service >= target.service
        }
        // Together, A and B are exactly the rows recorded after `start` up to B's last id.
        let all = a + b, from = try XCTUnwrap(EventCursorText(start)), to = try XCTUnwrap(b.last)
        let range = "id > \(from.inspection) AND id <= \(to.inspection)"
        XCTAssertEqual(all.filter { $0.type == "inspection" }.map { "\($0.data["id"] ?? "")" },
                       try sql("SELECT id FROM inspections WHERE \(range) AND verdict <> 'OK' ORDER BY id"), "NG/ERROR inspections")
        XCTAssertEqual(all.filter { $0.type == "ok" }.reduce(0) { $0 + ($1.data["count"] as? Int ?? 0) },
                       Int(try sql("SELECT count(*) FROM inspections WHERE \(range) AND verdict = 'OK'")[0]), "OK counts")
        var previous = from, serviceIDs: [String] = []
        for e in all {
            XCTAssertTrue(e.inspection >= previous.inspection && e.service >= previous.service
                          && (e.inspection > previous.inspection) != (e.service > previous.service),
                          "each event moves one table's id forward: \(previous) then \(e.id)")
            if e.service > previous.service { serviceIDs.append(String(e.service)) }
            previous = EventCursorText(e.id) ?? previous
        }
        XCTAssertEqual(serviceIDs, try sql("SELECT id FROM service_events WHERE id > \(from.service) AND id <= \(to.service) ORDER BY id"))
        let alarms = all.filter { $0.type == "alarm" }
        XCTAssertEqual(alarms.count, Int(try sql("SELECT count(*) FROM service_events WHERE kind = 'alarm' AND id > \(from.service) AND id <= \(to.service)")[0]))
        for alarm in alarms { XCTAssertEqual(alarm.data["rule_id"] as? String, "any-ng", "\(alarm.data)") }

        print("events: A \(a.count), B \(b.count); NG/ERROR \(all.filter { $0.type == "inspection" }.count), ok events "
              + "\(all.filter { $0.type == "ok" }.count), service \(serviceIDs.count), alarms \(alarms.count); range \(start) … \(to.id)")

        // From the start of the record: the backlog first, as recorded.
        let replay = try readEvents(daemon.port, query: "?last_event_id=0-0&access_token=\(viewer)", headers: [:]) { $0.count >= 3 }
        XCTAssertEqual(replay.first?.type, "inspection")
        XCTAssertEqual(replay.first?.data["camera"] as? String, "old")
        XCTAssertEqual(replay.first?.id, "1-0")

        // A client that never reads (a small receive buffer, the whole backlog asked for) is cut off, counted,
        // and its connection closed.
        XCTAssertEqual(try cutCount(daemon), 0)
        let fd = try stalledClient(port: daemon.port, token: viewer)
        defer { close(fd) }
        XCTAssertTrue(try daemon.wait(180) { try cutCount(daemon) == 1 }, "the stalled client was not cut off")
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 65536), received = 0, n = 0
        repeat { n = recv(fd, &chunk, chunk.count, 0); received += max(n, 0) } while n > 0
        XCTAssertEqual(n, 0, "the connection of the cut client ends (recv: \(n), errno \(errno)) after \(received) bytes")
        XCTAssertLessThan(received, 40000 * 400, "the cut client got the whole backlog")
        print("events: the stalled client was cut after \(received) bytes")
        // The daemon still serves other clients.
        XCTAssertEqual(try readEvents(daemon.port, query: "?last_event_id=0-0", headers: auth) { !$0.isEmpty }.first?.id, "1-0")
        XCTAssertEqual(daemon.stop(), 0)
    }

    /// An `id:` as its two numbers.
    private struct EventCursorText: CustomStringConvertible {
        var inspection: Int64, service: Int64
        init?(_ text: String) {
            let p = text.split(separator: "-")
            guard p.count == 2, let i = Int64(p[0]), let s = Int64(p[1]) else { return nil }
            inspection = i; service = s
        }
        var description: String { "\(inspection)-\(service)" }
    }

    private func sqlite(_ query: String, _ db: String) throws -> [String] {
        let (status, output) = try TestProcess.run("sqlite3", [db, query])
        XCTAssertEqual(status, 0, output)
        return output.split(separator: "\n").map(String.init)
    }

    private func cutCount(_ daemon: RunningDaemon) throws -> Int {
        let text = try daemon.client.get("/metrics", headers: ["Authorization": "Bearer viewer-events-0123456789"]).text
        let line = text.split(separator: "\n").first { $0.hasPrefix("inspectd_http_event_clients_cut_total ") }
        return Int(Double(line?.split(separator: " ").last ?? "") ?? -1)
    }

    /// Reads the stream with curl (a client the server was not written with) until `done` holds for the complete
    /// events so far (hang guard: 240 s), then disconnects.
    private func readEvents(_ port: Int, query: String, headers: [String: String], until done: ([Event]) -> Bool) throws -> [Event] {
        let out = dir.appendingPathComponent("sse-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestProcess.resolve("curl"))
        process.arguments = ["-sSN", "-o", out.path, "http://127.0.0.1:\(port)/api/v1/events\(query)"]
            + headers.flatMap { ["-H", "\($0.key): \($0.value)"] }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // SIGKILL: the daemon in this process ignores SIGTERM (it handles it itself), and so does curl, which
        // inherits that.
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) }; process.waitUntilExit() }
        let limit = Date().addingTimeInterval(240)
        var events: [Event] = []
        while Date() < limit {
            events = Self.parse((try? String(contentsOf: out, encoding: .utf8)) ?? "")
            if done(events) { return events }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestProcess.Failure(description: "the stream \(query) ended or did not deliver in 240 s; got \(events.map(\.id))")
    }

    /// The complete events of an SSE text (comments and `retry:` skipped).
    static func parse(_ text: String) -> [Event] {
        var blocks = text.components(separatedBy: "\n\n")
        blocks.removeLast()  // after the last separator: an event still arriving, or nothing
        return blocks.compactMap { block in
            var id = "", type = "message", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                else if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
                else if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            guard !id.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { return nil }
            return Event(id: id, type: type, data: object)
        }
    }

    /// A TCP client with a tiny receive buffer that asks for the whole record and then never reads.
    private func stalledClient(port: Int, token: String) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestProcess.Failure(description: "socket: errno \(errno)") }
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw TestProcess.Failure(description: "connect: errno \(errno)") }
        let request = "GET /api/v1/events?last_event_id=0-0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        return fd
    }
}
