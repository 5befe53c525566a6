import ArgumentParser
import Delivery
import Foundation
import Logging

/// `inspectd bench mqtt --host H --port P`: messages per second from the outbox to a running broker, counting
/// only PUBACKed messages. Starts no broker itself (run e.g. `mosquitto -p 18830 -d` first).
///
/// Hidden `--soak`: writes `--count` synthetic NG inspections at `--rate` per second into `--db` through the
/// real writer + outbox + MQTT path, then waits until the outbox is drained. The delivery tests kill it with
/// SIGKILL while the broker is down and run it again (`--count 0`) to check that nothing was lost.
struct BenchMQTT: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mqtt", abstract: "MQTT delivery throughput to a local broker.")
    @Option(help: "Broker host.") var host = "127.0.0.1"
    @Option(help: "Broker port.") var port = 1883
    @Option(help: "Messages to deliver.") var count = 20_000
    @Option(help: "In-flight window (unacknowledged QoS 1 messages).") var window = 100
    @Option(help: "MQTT protocol version: 5 or 3.1.1.") var protocolVersion = "5"
    @Option(help: "User name.") var username: String?
    @Option(help: "File holding the password.") var passwordFile: String?
    @Option(help: "CA file (enables TLS).") var cafile: String?
    @Option(help: "Client id (default inspectd-bench-PID).") var clientID: String?
    @Option(help: "Database file (default: a fresh temporary file).") var db: String?
    @Option(help: "Seconds to wait for the broker/acks before giving up.") var timeout: Double = 120
    @Flag(help: .hidden) var soak = false
    @Option(help: .hidden) var rate: Double = 200

    func run() throws {
        guard count >= 0, window > 0, rate > 0 else { failWithInputError(["--count, --window and --rate must be positive"]) }
        guard let version = MQTTSettings.ProtocolVersion(rawValue: protocolVersion) else {
            failWithInputError(["--protocol-version \(protocolVersion): expected 5 or 3.1.1"])
        }
        var logger = Logger(label: "inspectd.bench.mqtt")
        logger.logLevel = soak ? .info : .warning
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-bench-mqtt-\(getpid())")
        let path = db ?? dir.appendingPathComponent("audit.sqlite").path
        defer { if db == nil { try? FileManager.default.removeItem(at: dir) } }
        let store = exitingOnInputError { try AuditStore(path: path) }
        let writer = AuditWriter(store: store, logger: logger)
        writer.start()
        let factory = MessageFactory(line: "bench", station: "s1")
        let settings = MQTTSettings(host: host, port: port, clientID: clientID ?? "inspectd-bench-\(getpid())",
                                    protocolVersion: version, username: username, passwordFile: passwordFile,
                                    tls: cafile.map { MQTTSettings.TLS(caFile: $0) }, inflightWindow: window,
                                    retryDelayMax: soak ? 2 : 30)
        let publisher = exitingOnInputError {
            try OutboxPublisher(store: store, writer: writer, settings: settings, messages: factory, logger: logger)
        }
        publisher.start()
        if soak { runSoak(store: store, writer: writer, publisher: publisher, factory: factory) } else {
            runBench(writer: writer, publisher: publisher, factory: factory)
        }
        publisher.stop()
        writer.stop()
    }

    private func runBench(writer: AuditWriter, publisher: OutboxPublisher, factory: MessageFactory) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while !publisher.status.connected {
            if Date() > deadline {
                failWithInputError(["no MQTT broker reachable at \(host):\(port): \(publisher.status.lastProblem)"])
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let payload = factory.defects(for: InspectionRecord(
            camera: "cam0", sequence: 0, captureTime: Date(), latencyMillis: 10, modelName: "bench",
            modelSHA256: String(repeating: "ab", count: 32), configRevision: "r1",
            defects: [DefectRecord(classID: 0, className: "short", confidence: 0.9, threshold: 0.5,
                                   x1: 1, y1: 2, x2: 3, y2: 4)])).payload
        let ackedBefore = publisher.status.acknowledged
        let start = Date()
        var sent = 0
        while sent < count {
            let n = min(256, count - sent)
            writer.submit(messages: (0..<n).map { _ in
                OutgoingMessage(eventID: UUID(), topic: factory.prefix + "/cam0/defects", payload: payload)
            })
            sent += n
        }
        while publisher.status.acknowledged - ackedBefore < count {
            if Date() > deadline {
                print("timeout: \(publisher.status.acknowledged - ackedBefore) of \(count) acknowledged")
                throwExit(1)
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        let elapsed = Date().timeIntervalSince(start)
        writer.flush()
        print("mqtt: \(count) messages (\(payload.count) B, QoS 1) outbox → PUBACK in "
              + String(format: "%.2f s: %.0f messages/s (window %d)", elapsed, Double(count) / elapsed, window))
    }

    private func runSoak(store: AuditStore, writer: AuditWriter, publisher: OutboxPublisher, factory: MessageFactory) {
        let sha = String(repeating: "cd", count: 32)
        let start = Date()
        let base = UInt64(Date().timeIntervalSince1970 * 1000) * 1000
        for i in 0..<count {
            let due = start.addingTimeInterval(Double(i) / rate)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            let record = InspectionRecord(
                camera: "cam\(i % 2)", sequence: base + UInt64(i), captureTime: Date(), latencyMillis: 8,
                modelName: "soak", modelSHA256: sha, configRevision: "soak",
                defects: [DefectRecord(classID: i % 3, className: ["short", "open", "spur"][i % 3], confidence: 0.9,
                                       threshold: 0.5, x1: 5, y1: 6, x2: 50, y2: 60)])
            writer.submit(record, messages: [factory.defects(for: record)])
            if i % 100 == 99 { say("soak: submitted \(i + 1)") }
        }
        writer.flush()
        say("soak: all \(count) submitted and committed; draining the outbox")
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let pending = (try? store.pendingCount()) ?? -1
            if pending == 0 { break }
            if Date() > deadline { say("soak: timeout with \(pending) pending"); throwExit(1) }
            Thread.sleep(forTimeInterval: 0.2)
        }
        say("soak: outbox drained")
    }

    private func throwExit(_ code: Int32) -> Never { Foundation.exit(code) }
}
