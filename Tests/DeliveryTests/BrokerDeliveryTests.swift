import Foundation
import TestSupport
import GRDB
import XCTest
@testable import Delivery

/// Delivery against a real mosquitto broker started by the test (see Support/MosquittoBroker.swift).
final class BrokerDeliveryTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try TestProcess.temporaryDirectory("broker") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func settings(_ broker: MosquittoBroker, clientID: String, version: MQTTSettings.ProtocolVersion = .v5,
                          window: Int = 20) -> MQTTSettings {
        MQTTSettings(host: "127.0.0.1", port: broker.port, clientID: clientID, protocolVersion: version,
                     inflightWindow: window, retryDelayMin: 1, retryDelayMax: 2)
    }

    /// Subscribes and waits until a probe message shows the subscription is live.
    private func subscribe(_ broker: MosquittoBroker, id: String) throws -> MosquittoSubscriber {
        let sub = try MosquittoSubscriber(broker: broker, topic: "inspect/#", clientID: id, directory: dir)
        let live = DeliveryRig.wait(10) {
            _ = try? TestProcess.run("mosquitto_pub", broker.clientArguments() + ["-q", "1", "-t", "inspect/probe", "-m", "{}"])
            return sub.wait(timeout: 0.3) { $0.contains { $0.topic == "inspect/probe" } }.contains { $0.topic == "inspect/probe" }
        }
        XCTAssertTrue(live, "subscriber never received the probe: \(sub.log)")
        return sub
    }

    private func eventID(_ payload: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])?["event_id"] as? String
    }

    // 1. Round trip: every message reaches the subscriber and validates against its schema file.
    func testRoundTripPayloadsValidateAgainstSchemas() throws {
        for version in [MQTTSettings.ProtocolVersion.v5, .v311] {
            let broker = try MosquittoBroker(directory: dir.appendingPathComponent("b-\(version.rawValue)"))
            try broker.start()
            defer { broker.stop() }
            let sub = try subscribe(broker, id: "rt-sub")
            defer { sub.stop() }
            let rig = try DeliveryRig(databasePath: dir.appendingPathComponent("rt-\(version.rawValue).sqlite").path,
                                      settings: settings(broker, clientID: "rt-client"))
            rig.publisher.start()
            XCTAssertTrue(DeliveryRig.wait(10) { rig.publisher.status.connected }, "not connected: \(rig.logs.lines)")
            let f = rig.factory
            for i in 0..<30 {
                let r = Fixtures.inspection(camera: i % 2 == 0 ? "cam1" : "cam2", sequence: UInt64(i),
                                            defects: i % 3 == 0 ? 0 : 1 + i % 3,
                                            snapshot: i % 3 == 0 ? nil : "/var/lib/inspectd/snapshots/\(i).jpg")
                rig.writer.submit(r, messages: r.isNG ? [f.defects(for: r)] : [])
            }
            rig.writer.submit(event: ServiceEvent(.cameraDown, camera: "cam2", detail: "ENODEV"),
                              messages: [f.cameraStatus(camera: "cam2", up: false, reason: "ENODEV")])
            rig.writer.submit(event: ServiceEvent(.alarm, camera: "cam1", detail: "drift"),
                              messages: [f.alarm(camera: "cam1", ruleID: "drift:short", kind: "threshold_drift",
                                                 message: "short held at ceiling", evidence: [3, 4])])
            rig.writer.submit(messages: [f.stats(intervalSeconds: 10, uptimeSeconds: 10,
                                                 cameras: [.init(camera: "cam1", state: "up", frames: 15, ngFrames: 10,
                                                                 droppedFrames: 0, fps: 1.5, latencyMsMean: 12,
                                                                 latencyMsP99: 20)], outboxBacklog: 3)])
            XCTAssertTrue(rig.writer.flush(timeout: 10))
            let expected = try rig.store.pool.read { try String.fetchAll($0, sql: "SELECT event_id FROM outbox") }
            XCTAssertEqual(expected.count, 23)
            let got = sub.wait(timeout: 20) { msgs in Set(msgs.compactMap { self.eventID($0.payload) }).isSuperset(of: expected) }
            let ids = Set(got.compactMap { eventID($0.payload) })
            XCTAssertTrue(ids.isSuperset(of: expected), "missing \(Set(expected).subtracting(ids).count) messages")
            XCTAssertTrue(DeliveryRig.wait(10) { (try? rig.store.pendingCount()) == 0 }, "outbox not drained")
            rig.shutdown()
            let offline = sub.wait(timeout: 5) { $0.contains { $0.topic == "inspect/L1/S2/status" && $0.payload.contains("\"offline\"") } }
            XCTAssertTrue(offline.contains { $0.topic == "inspect/L1/S2/status" && $0.payload.contains("\"online\"") })
            XCTAssertTrue(offline.contains { $0.topic == "inspect/L1/S2/status" && $0.payload.contains("\"offline\"") })
            let payloads = offline.filter { $0.topic != "inspect/probe" }.map(\.payload)
            XCTAssertGreaterThanOrEqual(payloads.count, 25)
            XCTAssertEqual(try SchemaValidator.problems(payloads), [])
            // Every delivered row has its attempt and delivery recorded.
            let row = try rig.store.pool.read { try Row.fetchOne($0, sql: """
                SELECT min(attempts), count(first_attempt_at), count(delivered_at), count(*) FROM outbox
                """) }
            XCTAssertGreaterThanOrEqual(row?[0] as Int? ?? 0, 1)
            XCTAssertEqual(row?[1] as Int?, 23); XCTAssertEqual(row?[2] as Int?, 23)
        }
    }

    // 2. Broker down for 10+ s while NG frames keep coming: every event arrives, count equals NG rows.
    func testBrokerOutageLosesNothing() throws {
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("b"))
        try broker.start()
        defer { broker.stop() }
        var sub = try subscribe(broker, id: "outage-sub")
        let rig = try DeliveryRig(databasePath: dir.appendingPathComponent("outage.sqlite").path,
                                  settings: settings(broker, clientID: "outage-client"))
        rig.publisher.start()
        XCTAssertTrue(DeliveryRig.wait(10) { rig.publisher.status.connected })
        let feed = Thread {
            let start = Date()
            var i: UInt64 = 0
            while Date().timeIntervalSince(start) < 15 {
                let r = Fixtures.inspection(camera: "cam\(i % 3)", sequence: i, defects: i % 5 == 0 ? 0 : 1)
                rig.writer.submit(r, messages: r.isNG ? [rig.factory.defects(for: r)] : [])
                i += 1
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        feed.start()
        Thread.sleep(forTimeInterval: 2)
        broker.stop()
        XCTAssertTrue(DeliveryRig.wait(5) { !rig.publisher.status.connected }, "client did not notice the outage")
        Thread.sleep(forTimeInterval: 10.5)
        XCTAssertGreaterThan(try rig.store.pendingCount(), 100, "NG frames during the outage wait in the outbox")
        try broker.start()
        if !sub.isRunning {   // mosquitto_sub gives up when its broker vanishes: resume its persistent session
            sub = try MosquittoSubscriber(broker: broker, topic: "inspect/#", clientID: "outage-sub", directory: dir,
                                          appendingTo: sub)
        }
        defer { sub.stop() }
        while feed.isExecuting || !feed.isFinished { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertTrue(rig.writer.flush(timeout: 10))
        XCTAssertTrue(DeliveryRig.wait(60) { (try? rig.store.pendingCount()) == 0 }, "outbox not drained after the outage")
        let expected = try rig.eventIDs(topicSuffix: "/defects")
        let ng = try rig.store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM inspections WHERE verdict = 'NG'") }
        XCTAssertEqual(expected.count, ng)
        let got = sub.wait(timeout: 30) { msgs in
            Set(msgs.filter { $0.topic.hasSuffix("/defects") }.compactMap { self.eventID($0.payload) }).count >= expected.count
        }
        let ids = Set(got.filter { $0.topic.hasSuffix("/defects") }.compactMap { eventID($0.payload) })
        XCTAssertEqual(ids, expected, "missing \(expected.subtracting(ids).count), unexpected \(ids.subtracting(expected).count)")
        rig.shutdown()
    }

    // 3. Killed with SIGKILL while the broker is down, restarted later: nothing lost, integrity ok.
    func testSIGKILLWhileBrokerDownLosesNothing() throws {
        let inspectd = try TestProcess.inspectdBinary()
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("b"))
        let db = dir.appendingPathComponent("soak.sqlite").path
        let soakArgs = ["bench", "mqtt", "--soak", "--db", db, "--host", "127.0.0.1", "--port", String(broker.port),
                        "--client-id", "soak-client", "--rate", "400", "--timeout", "60"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: inspectd)
        process.arguments = soakArgs + ["--count", "1000000"]
        let log = dir.appendingPathComponent("soak.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        let submitted = DeliveryRig.wait(20) {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("submitted 800")
        }
        XCTAssertTrue(submitted, "soak process made no progress: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)

        let queries = AuditQueries(reader: try AuditStore.openReadOnly(path: db))
        let afterKill = try queries.verify()
        XCTAssertTrue(afterKill.ok, "integrity_check after SIGKILL: \(afterKill.integrity)")
        XCTAssertGreaterThan(afterKill.inspections, 500)
        XCTAssertEqual(afterKill.pending, afterKill.inspections, "broker was down: every NG message is pending")

        try broker.start()
        defer { broker.stop() }
        let sub = try subscribe(broker, id: "soak-sub")
        defer { sub.stop() }
        let rerun = try TestProcess.run(inspectd, soakArgs + ["--count", "0"], timeout: 90)
        XCTAssertEqual(rerun.status, 0, rerun.output)
        let store = try AuditStore.openReadOnly(path: db)
        let expected = try Set(store.read { try String.fetchAll($0, sql: "SELECT event_id FROM outbox WHERE topic LIKE '%/defects'") })
        let ng = try store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM inspections WHERE verdict = 'NG'") }
        XCTAssertEqual(expected.count, ng)
        let got = sub.wait(timeout: 30) { msgs in
            Set(msgs.filter { $0.topic.hasSuffix("/defects") }.compactMap { self.eventID($0.payload) }).count >= expected.count
        }
        let ids = Set(got.filter { $0.topic.hasSuffix("/defects") }.compactMap { eventID($0.payload) })
        XCTAssertEqual(ids, expected, "missing \(expected.subtracting(ids).count)")
        let final = try AuditQueries(reader: store).verify()
        XCTAssertTrue(final.ok)
        XCTAssertEqual(final.pending, 0)
    }

    // 4. TLS (CA, server and client certificates from openssl) with username/password; a wrong password and a
    //    wrong CA give clear errors and keep retrying without crashing.
    func testTLSWithPasswordAndClearErrorsOnBadCredentials() throws {
        let certs = try TestCertificates(directory: dir.appendingPathComponent("pki"))
        let other = try TestCertificates(directory: dir.appendingPathComponent("pki-other"), name: "rogue")
        let broker = try MosquittoBroker(
            directory: dir.appendingPathComponent("b"), auth: .init(username: "line1", password: "s3cret"),
            tls: .init(caFile: certs.caFile, certFile: certs.serverCert, keyFile: certs.serverKey,
                       clientCertFile: certs.clientCert, clientKeyFile: certs.clientKey))
        try broker.start()
        defer { broker.stop() }
        let sub = try subscribe(broker, id: "tls-sub")
        defer { sub.stop() }
        let good = dir.appendingPathComponent("good.pw"), bad = dir.appendingPathComponent("bad.pw")
        try "s3cret\n".write(to: good, atomically: true, encoding: .utf8)
        try "wrong\n".write(to: bad, atomically: true, encoding: .utf8)
        func tlsSettings(id: String, password: URL, ca: String) -> MQTTSettings {
            var s = settings(broker, clientID: id)
            s.username = "line1"; s.passwordFile = password.path
            s.tls = .init(caFile: ca, certFile: certs.clientCert, keyFile: certs.clientKey)
            return s
        }
        // The right credentials deliver.
        let rig = try DeliveryRig(databasePath: dir.appendingPathComponent("tls.sqlite").path,
                                  settings: tlsSettings(id: "tls-good", password: good, ca: certs.caFile))
        rig.publisher.start()
        let r = Fixtures.inspection(sequence: 1)
        let message = rig.factory.defects(for: r)
        rig.writer.submit(r, messages: [message])
        let got = sub.wait(timeout: 20) { $0.contains { $0.payload.contains(message.eventID.uuidString.lowercased()) } }
        XCTAssertTrue(got.contains { $0.payload.contains(message.eventID.uuidString.lowercased()) }, rig.logs.lines.joined(separator: "\n"))
        rig.shutdown()

        // A wrong password: refused, logged clearly, retried, message kept.
        let wrong = try DeliveryRig(databasePath: dir.appendingPathComponent("wrong.sqlite").path,
                                    settings: tlsSettings(id: "tls-wrong", password: bad, ca: certs.caFile))
        wrong.writer.submit(r, messages: [wrong.factory.defects(for: r)])
        wrong.publisher.start()
        XCTAssertTrue(DeliveryRig.wait(10) { wrong.logs.states.filter { $0 == .connecting }.count >= 2 }, "no retry")
        XCTAssertFalse(wrong.publisher.status.connected)
        let refused = wrong.logs.lines.filter { $0.contains("refused") && $0.contains("mqtt.password_file") }
        XCTAssertFalse(refused.isEmpty, "no clear error in: \(wrong.logs.lines)")
        XCTAssertEqual(try wrong.store.pendingCount(), 1)
        wrong.shutdown()

        // A CA that did not sign the broker certificate: TLS error logged, retried.
        let rogue = try DeliveryRig(databasePath: dir.appendingPathComponent("rogue.sqlite").path,
                                    settings: tlsSettings(id: "tls-rogue", password: good, ca: other.caFile))
        rogue.publisher.start()
        XCTAssertTrue(DeliveryRig.wait(10) { rogue.logs.states.filter { $0 == .connecting }.count >= 2 }, "no retry")
        XCTAssertFalse(rogue.publisher.status.connected)
        XCTAssertTrue(rogue.logs.lines.contains { $0.contains("certificate") || $0.contains("TLS") },
                      "no TLS error in: \(rogue.logs.lines)")
        rogue.shutdown()
    }

    // 5. A backlog after a broker outage is sent once, in order, at most `window` unacknowledged at a time:
    //    messages in flight when the connection dropped are re-sent by libmosquitto under their ids, and rows
    //    acknowledged but not yet marked delivered are not taken for pending by the rescan (which used to
    //    re-send 436 of 930 messages).
    func testBacklogAfterOutageIsSentOnceInOrderAndPaced() throws {
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("b"))
        try broker.start()
        defer { broker.stop() }
        var sub = try subscribe(broker, id: "backlog-sub")
        let window = 8
        // A rescan twice a second, to meet the writer's delivered marks still on their way to the database.
        let rig = try DeliveryRig(databasePath: dir.appendingPathComponent("backlog.sqlite").path,
                                  settings: settings(broker, clientID: "backlog-client", window: window),
                                  rescanInterval: 0.5)
        rig.publisher.start()
        XCTAssertTrue(DeliveryRig.wait(10) { rig.publisher.status.connected })
        var sequence: UInt64 = 0
        func feed(_ count: Int) {
            for _ in 0..<count {
                let r = Fixtures.inspection(camera: "cam\(sequence % 3)", sequence: sequence, defects: 1)
                rig.writer.submit(r, messages: [rig.factory.defects(for: r)])
                sequence += 1
            }
        }
        feed(300)   // in flight while the broker goes away
        broker.stop()
        XCTAssertTrue(DeliveryRig.wait(10) { !rig.publisher.status.connected }, "client did not notice the outage")
        feed(600)   // the backlog
        XCTAssertTrue(rig.writer.flush(timeout: 10))
        try broker.start()
        if !sub.isRunning {
            sub = try MosquittoSubscriber(broker: broker, topic: "inspect/#", clientID: "backlog-sub", directory: dir,
                                          appendingTo: sub)
        }
        defer { sub.stop() }
        var mostInFlight = 0
        let drained = DeliveryRig.wait(120) {
            mostInFlight = max(mostInFlight, rig.publisher.status.inFlight)
            return (try? rig.store.pendingCount()) == 0
        }
        XCTAssertTrue(drained, "outbox not drained: \(rig.logs.lines.suffix(20))")
        XCTAssertLessThanOrEqual(mostInFlight, window, "more than the window unacknowledged at once")
        let expected = try rig.store.pool.read {
            try String.fetchAll($0, sql: "SELECT event_id FROM outbox WHERE topic LIKE '%/defects' ORDER BY id")
        }
        XCTAssertEqual(expected.count, 900)
        // From our side: every row handed to libmosquitto exactly once.
        XCTAssertEqual(rig.publisher.status.published, expected.count, "rows published more than once")
        let got = sub.wait(timeout: 60) { msgs in
            Set(msgs.filter { $0.topic.hasSuffix("/defects") }.compactMap { self.eventID($0.payload) }).count >= expected.count
        }
        let ids = got.filter { $0.topic.hasSuffix("/defects") }.compactMap { eventID($0.payload) }
        XCTAssertEqual(Set(ids), Set(expected), "missing \(Set(expected).subtracting(ids).count)")
        // What may still arrive twice are QoS 1 re-sends of messages in flight when the broker stopped: ours
        // (the broker had them, the PUBACK was lost) and the broker's to the subscriber (mosquitto's default
        // max_inflight_messages, 20): a bounded few, never the backlog.
        let duplicates = ids.count - Set(ids).count
        print("backlog: \(expected.count) messages, \(duplicates) duplicates at the subscriber, at most \(mostInFlight) in flight")
        XCTAssertLessThanOrEqual(duplicates, window + 20, "duplicates at the subscriber")
        // In order: first arrivals follow the outbox order.
        var seen = Set<String>(), firstArrivals: [String] = []
        for id in ids where seen.insert(id).inserted { firstArrivals.append(id) }
        XCTAssertEqual(firstArrivals, expected, "not in outbox order")
        rig.shutdown()
    }

    // 6. The retained `online` status and the Last Will carry a fresh event id for every connection: two
    //    session takeovers (another client with our id) make the broker publish our will twice.
    func testStatusMessagesHaveAFreshEventIDPerConnection() throws {
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("b"))
        try broker.start()
        defer { broker.stop() }
        let sub = try subscribe(broker, id: "status-sub")
        defer { sub.stop() }
        let rig = try DeliveryRig(databasePath: dir.appendingPathComponent("status.sqlite").path,
                                  settings: settings(broker, clientID: "status-client"))
        rig.publisher.start()
        func statuses(_ state: String) -> [String] {
            sub.messages.filter { $0.topic.hasSuffix("/status") && $0.payload.contains("\"state\":\"\(state)\"") }
                .compactMap { eventID($0.payload) }
        }
        XCTAssertTrue(DeliveryRig.wait(20) { statuses("online").count >= 1 }, "no online status: \(sub.log)")
        for takeover in 1...2 {
            _ = try? TestProcess.run("mosquitto_pub", broker.clientArguments()
                                     + ["-i", "status-client", "-q", "1", "-t", "inspect/probe", "-m", "{}"])
            XCTAssertTrue(DeliveryRig.wait(20) { statuses("offline").count >= takeover }, "no will after takeover \(takeover)")
            XCTAssertTrue(DeliveryRig.wait(20) { statuses("online").count >= takeover + 1 }, "no reconnect after takeover \(takeover)")
        }
        let online = statuses("online"), wills = statuses("offline")
        XCTAssertEqual(Set(online).count, online.count, "an online event id was reused: \(online)")
        XCTAssertEqual(Set(wills).count, wills.count, "a will event id was reused: \(wills)")
        XCTAssertTrue(Set(online).isDisjoint(with: wills))
        rig.shutdown()
    }

    // 7. `insecure` skips only the host name check: a certificate for another host name from the right CA is
    //    accepted, one from a CA we do not trust is still refused (verify mode 0 used to accept it).
    func testTLSInsecureSkipsOnlyTheHostNameCheck() throws {
        let certs = try TestCertificates(directory: dir.appendingPathComponent("pki"), serverNames: "DNS:broker.plant.invalid")
        let other = try TestCertificates(directory: dir.appendingPathComponent("pki-other"), name: "rogue")
        let broker = try MosquittoBroker(directory: dir.appendingPathComponent("b"),
                                         tls: .init(caFile: certs.caFile, certFile: certs.serverCert, keyFile: certs.serverKey,
                                                    certificateForAnotherHost: true))
        try broker.start()
        defer { broker.stop() }
        func rig(_ name: String, ca: String, verifyHostName: Bool) throws -> DeliveryRig {
            var s = settings(broker, clientID: "tls-\(name)")
            s.tls = .init(caFile: ca, verifyHostName: verifyHostName)
            let r = try DeliveryRig(databasePath: dir.appendingPathComponent("\(name).sqlite").path, settings: s)
            r.publisher.start()
            return r
        }
        let insecure = try rig("insecure", ca: certs.caFile, verifyHostName: false)
        XCTAssertTrue(DeliveryRig.wait(20) { insecure.publisher.status.connected },
                      "insecure with the right CA should connect despite the host name: \(insecure.logs.lines)")
        insecure.shutdown()
        let strict = try rig("strict", ca: certs.caFile, verifyHostName: true)
        XCTAssertTrue(DeliveryRig.wait(10) { strict.logs.states.filter { $0 == .connecting }.count >= 2 }, "no retry")
        XCTAssertFalse(strict.publisher.status.connected, "the host name is checked by default")
        strict.shutdown()
        let rogue = try rig("rogue", ca: other.caFile, verifyHostName: false)
        XCTAssertTrue(DeliveryRig.wait(10) { rogue.logs.states.filter { $0 == .connecting }.count >= 2 }, "no retry")
        XCTAssertFalse(rogue.publisher.status.connected, "insecure must still verify the certificate chain")
        rogue.shutdown()
    }
}
