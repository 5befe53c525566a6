import ArgumentParser
import CModbus
import CMosquitto
import Daemon
import Foundation
import Glibc
import Logging

/// `inspectd bench trigger`: trigger-to-result latency of a software-triggered synthetic camera, over HTTP
/// (`POST /api/v1/cameras/{id}/trigger`, one keep-alive client), over MQTT (a libmosquitto client publishing to
/// the trigger topic and waiting on the result topic, through a mosquitto broker the bench starts) and over the
/// Modbus handshake (a libmodbus client polling the status register), at a few trigger rates. Prints p50/p99
/// against the goal "frame interval + engine latency + 5 ms", with where the daemon's time went; never pass/fail.
struct BenchTrigger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Trigger-to-result latency over HTTP and Modbus TCP against a synthetic camera, at a few rates.",
        discussion: """
            Runs the daemon's service in this process (like inspectd run) with one synthetic camera in \
            trigger.mode software, its HTTP listener and its Modbus server on free loopback ports, a mosquitto broker \
            it starts on a free loopback port (MQTT is left out when mosquitto is not installed) and the audit \
            database in a temporary directory. Each transport sends --triggers triggers at each --rates rate \
            (one at a time: a trigger still being answered delays the next).
            """)

    @Option(name: .long, help: "Model (default: the repository's Models/deeppcb-yolov8n.int8.onnx).")
    var model: String = "Models/deeppcb-yolov8n.int8.onnx"

    @Option(name: .long, help: "Triggers per transport and rate.")
    var triggers: Int = 1000

    @Option(name: .long, help: "Trigger rates per second, comma separated.")
    var rates: String = "2,5"

    @Option(name: .long, help: "The synthetic camera's frames per second.")
    var fps: Double = 30

    @Option(name: .long, help: "The PLC's status poll period, milliseconds.")
    var poll: Double = 1

    func run() throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label); h.logLevel = .warning; return h
        }
        let rateList = rates.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard triggers > 0, !rateList.isEmpty, rateList.allSatisfy({ $0 > 0 && $0 <= 1000 }), fps > 0, poll > 0 else {
            failWithInputError(["--triggers must be > 0, --rates a list within 0…1000, --fps and --poll > 0"])
        }
        guard FileManager.default.fileExists(atPath: model) else { failWithInputError(["--model: no file \(model)"]) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-bench-trigger-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("inspectd.yaml")
        let broker = BenchBroker.executable == nil ? nil : try BenchBroker(directory: dir)
        defer { broker?.stop() }
        if broker == nil { say("bench trigger: no mosquitto found (apt-get install mosquitto): MQTT is left out") }
        try """
            site: {line: bench, station: trigger}
            model: {path: \(URL(fileURLWithPath: model).standardizedFileURL.path)}
            workers: {count: 1}
            cameras:
              - id: cam
                source: {type: synthetic, width: 640, height: 640, fps: \(fps), seed: 1}
                trigger: {mode: software, timeout: 10s, queue: 16}
            mqtt: \(broker.map { "{host: 127.0.0.1, port: \($0.port)}" } ?? "{enabled: false}")
            audit: {path: \(dir.path)/audit.db}
            snapshots: {enabled: false}
            http: {listen: "127.0.0.1:0"}
            plc:
              modbus: {listen: "127.0.0.1:0", unit_id: 1}
            stats_interval: 1d
            """.write(to: file, atomically: true, encoding: .utf8)
        let service = InspectionService(configPath: file.path, environment: [:], logger: Logger(label: "bench"))
        let exited = DispatchSemaphore(value: 0)
        Thread.detachNewThread { _ = service.run(errors: { FileHandle.standardError.write(Data("\($0)\n".utf8)) }); exited.signal() }
        let limit = Date().addingTimeInterval(120)
        while (service.metricsPort == nil || service.modbusPort == nil) && Date() < limit { Thread.sleep(forTimeInterval: 0.05) }
        guard let httpPort = service.metricsPort, let modbusPort = service.modbusPort else {
            throw ValidationError("the service did not start")
        }
        defer { service.requestStop(); _ = exited.wait(timeout: .now() + 30) }
        say(String(format: "bench trigger: synthetic 640×640 camera at %.0f fps (frame interval %.1f ms), %@, 1 worker, %d triggers per transport and rate",
                   fps, 1000 / fps, (model as NSString).lastPathComponent, triggers))

        let http = try BenchHTTPConnection(port: httpPort)
        var n = 0
        // Each returns the milliseconds from sending the trigger to having its result.
        let httpOnce: () throws -> Double = {
            n += 1
            let start = DispatchTime.now().uptimeNanoseconds
            let r = try http.request("POST", "/api/v1/cameras/cam/trigger", body: Data(#"{"part_id": "H\#(n)"}"#.utf8),
                                     contentType: "application/json")
            guard r.status == 200 else { throw ValidationError("HTTP trigger answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        let plc = try PLCClient(port: modbusPort, poll: poll / 1000)
        defer { plc.close() }
        let modbusOnce: () throws -> Double = { n += 1; return try plc.trigger(part: "M\(n)") }
        var transports = [("HTTP  ", httpOnce), ("Modbus", modbusOnce)]
        let mes = try broker.map { try MESClient(port: $0.port, prefix: "inspect/bench/trigger/cam") }
        defer { mes?.close() }
        if let mes {
            // The daemon subscribes once it is connected: until then a trigger reaches nobody.
            var answered = false
            for _ in 0..<30 where !answered { n += 1; answered = (try? mes.trigger(part: "Q\(n)", timeout: 1)) != nil }
            guard answered else { throw ValidationError("MQTT: no result for a trigger within 30 s") }
            transports.append(("MQTT  ", { n += 1; return try mes.trigger(part: "Q\(n)", timeout: 30) }))
        }

        for _ in 0..<10 { _ = try httpOnce() }  // warm-up
        let metrics = { StageMeans.Totals(try http.request("GET", "/metrics").body) }
        let interval = 1000 / fps
        say(String(format: "  goal: p99 ≤ frame interval + engine + 5 ms, that is what a trigger adds to its own inference "
                   + "(end to end minus the engine's time for that frame in the daemon) ≤ %.1f ms at p99", interval + 5))
        for rate in rateList {
            for (name, once) in transports {
                let before = try metrics()
                // One trigger at a time and no free-running camera: the inference stage's sum grows by exactly this
                // trigger's frame between two scrapes.
                var engine: [Double] = []
                var last = before
                let ms = try Self.paced(triggers, rate: rate) {
                    let ms = try once()
                    let now = try metrics()
                    engine.append(1000 * (now.sum["inference", default: 0] - last.sum["inference", default: 0]))
                    last = now
                    return ms
                }
                let added = zip(ms, engine).map { $0 - $1 }
                let stages = StageMeans(from: before, to: last)
                let p99 = percentile(added, 0.99)
                say(String(format: "  %@ at %5.1f/s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms; engine p50 %.1f p99 %.1f; "
                           + "added p50 %.1f p99 %.1f ms: goal %@", name, rate, percentile(ms, 0.5), percentile(ms, 0.99),
                           ms.max() ?? 0, percentile(engine, 0.5), percentile(engine, 0.99), percentile(added, 0.5), p99,
                           p99 <= interval + 5 ? "met" : "NOT met"))
                say("      " + stages.description)
            }
        }
        say(String(format: "  Modbus: from writing the trigger bit to reading done (polled every %.1f ms); the PLC's acknowledgement comes after", poll))
        if mes != nil { say("  MQTT: from publishing the trigger (QoS 1) to receiving its result, through the audit commit and the outbox") }
    }

    /// Mean milliseconds per stage between two scrapes of /metrics: where a trigger's time goes in the daemon.
    private struct StageMeans: CustomStringConvertible {
        /// Per stage, the histogram's sum (s) and count.
        struct Totals {
            var sum: [String: Double] = [:], count: [String: Double] = [:]
            init() {}
            init(_ exposition: Data) {
                for line in String(decoding: exposition, as: UTF8.self).split(separator: "\n")
                where line.hasPrefix("inspectd_stage_latency_seconds_") {
                    guard let r = line.range(of: "stage=\""), let end = line[r.upperBound...].firstIndex(of: "\""),
                          let value = Double(line.split(separator: " ").last ?? "") else { continue }
                    let stage = String(line[r.upperBound..<end])
                    if line.hasPrefix("inspectd_stage_latency_seconds_sum") { sum[stage, default: 0] += value }
                    if line.hasPrefix("inspectd_stage_latency_seconds_count") { count[stage, default: 0] += value }
                }
            }
        }
        let means: [String: Double]
        init(from a: Totals, to b: Totals) {
            var m: [String: Double] = [:]
            for (stage, sum) in b.sum {
                let count = b.count[stage, default: 0] - a.count[stage, default: 0]
                if count > 0 { m[stage] = (sum - a.sum[stage, default: 0]) / count * 1000 }
            }
            means = m
        }
        /// The trigger stage (arrival to answer) taken apart: the frame's wait and capture (for this source, drawing
        /// and encoding it on demand) is what the frame's own stages leave of it.
        var description: String {
            let parts = ["queue", "preprocess", "inference", "postprocess"].map { ($0, means[$0] ?? 0) }
            let trigger = means["trigger"] ?? 0
            let capture = max(0, trigger - parts.reduce(0) { $0 + $1.1 })
            return String(format: "in the daemon (means): trigger %.1f ms = capture %.1f", trigger, capture)
                + parts.map { String(format: " + %@ %.1f", $0.0, $0.1) }.joined()
        }
    }

    /// Runs `once` `count` times, starting one every 1/rate s (or at once when the last one took longer);
    /// returns each run's milliseconds.
    private static func paced(_ count: Int, rate: Double, _ once: () throws -> Double) throws -> [Double] {
        var out: [Double] = []
        var next = DispatchTime.now().uptimeNanoseconds
        let period = UInt64(1e9 / rate)
        for _ in 0..<count {
            let now = DispatchTime.now().uptimeNanoseconds
            if next > now { usleep(UInt32((next - now) / 1000)) }
            let start = DispatchTime.now().uptimeNanoseconds
            out.append(try once())
            next = max(next + period, start)
        }
        return out
    }

    /// A PLC running the handshake of README "Connecting a PLC" on block 0 with libmodbus.
    private final class PLCClient {
        private let context: OpaquePointer
        private let poll: Double

        init(port: Int, poll: Double) throws {
            guard let c = modbus_new_tcp("127.0.0.1", Int32(port)) else { throw ValidationError("modbus_new_tcp failed") }
            modbus_set_slave(c, 1)
            guard modbus_connect(c) == 0 else { modbus_free(c); throw ValidationError("cannot connect to the Modbus server") }
            context = c; self.poll = poll
        }

        /// Writes the part id, sets trigger, waits for done, reads the result, clears trigger, waits for done to clear.
        /// Returns the milliseconds from the trigger bit's write to done seen.
        func trigger(part: String) throws -> Double {
            var id = Array(part.utf8.prefix(64)) + [UInt8](repeating: 0, count: 64 - min(64, part.utf8.count))
            var registers = stride(from: 0, to: 64, by: 2).map { UInt16(id[$0]) << 8 | UInt16(id[$0 + 1]) }
            id.removeAll()
            guard modbus_write_registers(context, 16, 32, &registers) == 32 else { throw ValidationError("Modbus write failed") }
            let start = DispatchTime.now().uptimeNanoseconds
            guard modbus_write_register(context, 0, 1) == 1 else { throw ValidationError("Modbus write failed") }
            var block = [UInt16](repeating: 0, count: 16)
            try wait { $0 & 4 != 0 }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            guard modbus_read_registers(context, 0, 16, &block) == 16, block[5] == 0 else {
                throw ValidationError("Modbus result: error code \(block[5])")
            }
            guard modbus_write_register(context, 0, 0) == 1 else { throw ValidationError("Modbus write failed") }
            try wait { $0 & 4 == 0 }
            return ms
        }

        private func wait(_ status: (UInt16) -> Bool) throws {
            var value: UInt16 = 0
            let limit = Date().addingTimeInterval(30)
            while Date() < limit {
                guard modbus_read_registers(context, 1, 1, &value) == 1 else { throw ValidationError("Modbus read failed") }
                if status(value) { return }
                usleep(UInt32(poll * 1e6))
            }
            throw ValidationError("Modbus: no answer within 30 s (status \(value))")
        }

        func close() { modbus_close(context); modbus_free(context) }
    }

    /// An MES on MQTT: publishes a trigger document (QoS 1) to the camera's trigger topic and waits for the
    /// `inspectd.result/1` message with its part id on the result topic (libmosquitto, its own network thread).
    private final class MESClient {
        /// What the network thread hands over: result payloads and the subscription's acknowledgement.
        private final class Inbox: @unchecked Sendable {
            let condition = NSCondition()
            var payloads: [Data] = []
            var subscribed = false
        }
        private let handle: OpaquePointer
        private let inbox = Inbox()
        private let prefix: String

        init(port: Int, prefix: String) throws {
            mosquitto_lib_init()
            self.prefix = prefix
            guard let h = mosquitto_new("inspectd-bench-mes-\(getpid())", true, Unmanaged.passUnretained(inbox).toOpaque()) else {
                throw ValidationError("mosquitto_new failed")
            }
            handle = h
            mosquitto_int_option(h, MOSQ_OPT_TCP_NODELAY, 1)  // as the daemon's client: no Nagle delay on small packets
            mosquitto_message_callback_set(h) { _, context, message in
                guard let context, let m = message?.pointee, let bytes = m.payload else { return }
                let inbox = Unmanaged<Inbox>.fromOpaque(context).takeUnretainedValue()
                inbox.condition.lock(); inbox.payloads.append(Data(bytes: bytes, count: Int(m.payloadlen)))
                inbox.condition.broadcast(); inbox.condition.unlock()
            }
            mosquitto_subscribe_callback_set(h) { _, context, _, _, _ in
                guard let context else { return }
                let inbox = Unmanaged<Inbox>.fromOpaque(context).takeUnretainedValue()
                inbox.condition.lock(); inbox.subscribed = true; inbox.condition.broadcast(); inbox.condition.unlock()
            }
            let limit = Date().addingTimeInterval(10)  // the broker was just started
            while mosquitto_connect(h, "127.0.0.1", Int32(port), 30) != MOSQ_ERR_SUCCESS.rawValue {
                guard Date() < limit else { mosquitto_destroy(h); throw ValidationError("MQTT: cannot connect to the broker on port \(port)") }
                Thread.sleep(forTimeInterval: 0.1)
            }
            mosquitto_loop_start(h)
            guard mosquitto_subscribe(h, nil, prefix + "/result", 1) == MOSQ_ERR_SUCCESS.rawValue,
                  waitFor(timeout: 10, { $0.subscribed }) != nil else {
                close(); throw ValidationError("MQTT: subscribing to \(prefix)/result failed")
            }
        }

        /// Publishes a trigger for `part`; returns the milliseconds until its result arrived.
        func trigger(part: String, timeout: TimeInterval) throws -> Double {
            let body = Array(#"{"part_id": "\#(part)"}"#.utf8)
            let start = DispatchTime.now().uptimeNanoseconds
            guard mosquitto_publish(handle, nil, prefix + "/trigger", Int32(body.count), body, 1, false) == MOSQ_ERR_SUCCESS.rawValue else {
                throw ValidationError("MQTT: publishing the trigger failed")
            }
            let found = waitFor(timeout: timeout) { inbox -> Bool? in
                while !inbox.payloads.isEmpty {
                    let p = inbox.payloads.removeFirst()
                    if let o = try? JSONSerialization.jsonObject(with: p) as? [String: Any], o["part_id"] as? String == part { return true }
                }
                return nil
            }
            guard found != nil else { throw ValidationError("MQTT: no result for part \(part) within \(timeout) s") }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }

        /// Waits until `ready` gives a value (it runs with the inbox locked); nil at the timeout.
        private func waitFor<T>(timeout: TimeInterval, _ ready: (Inbox) -> T?) -> T? {
            let deadline = Date().addingTimeInterval(timeout)
            inbox.condition.lock(); defer { inbox.condition.unlock() }
            while true {
                if let v = ready(inbox) { return v }
                if !inbox.condition.wait(until: deadline) { return ready(inbox) }
            }
        }

        func close() {
            mosquitto_disconnect(handle)
            mosquitto_loop_stop(handle, false)
            mosquitto_destroy(handle)
        }
    }
}
