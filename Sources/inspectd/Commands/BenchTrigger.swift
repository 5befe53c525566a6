import ArgumentParser
import CModbus
import Daemon
import Foundation
import Logging

/// `inspectd bench trigger`: trigger-to-result latency of a software-triggered synthetic camera, over HTTP
/// (`POST /api/v1/cameras/{id}/trigger`, one keep-alive client) and over the Modbus handshake (a libmodbus client
/// polling the status register), at a few trigger rates. Prints p50/p99 against the goal "frame interval +
/// engine latency + 5 ms"; never pass/fail.
struct BenchTrigger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Trigger-to-result latency over HTTP and Modbus TCP against a synthetic camera, at a few rates.",
        discussion: """
            Runs the daemon's service in this process (like inspectd run) with one synthetic camera in \
            trigger.mode software, its HTTP listener and its Modbus server on free loopback ports, MQTT off and the \
            audit database in a temporary directory. Each transport sends --triggers triggers at each --rates rate \
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
        try """
            site: {line: bench, station: trigger}
            model: {path: \(URL(fileURLWithPath: model).standardizedFileURL.path)}
            workers: {count: 1}
            cameras:
              - id: cam
                source: {type: synthetic, width: 640, height: 640, fps: \(fps), seed: 1}
                trigger: {mode: software, timeout: 10s, queue: 16}
            mqtt: {enabled: false}
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
        let httpOnce: () throws -> Void = {
            n += 1
            let r = try http.request("POST", "/api/v1/cameras/cam/trigger", body: Data(#"{"part_id": "H\#(n)"}"#.utf8),
                                     contentType: "application/json")
            guard r.status == 200 else { throw ValidationError("HTTP trigger answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
        }
        let plc = try PLCClient(port: modbusPort, poll: poll / 1000)
        defer { plc.close() }
        let modbusOnce: () throws -> Void = { n += 1; try plc.trigger(part: "M\(n)") }

        for _ in 0..<10 { try httpOnce() }  // warm-up
        let engine = Self.inferenceMean(try http.request("GET", "/metrics").body)
        say(String(format: "  engine (inference stage mean while warming up): %.1f ms; goal p99 ≤ %.1f ms (frame interval + engine + 5 ms)",
                   engine, 1000 / fps + engine + 5))
        for rate in rateList {
            for (name, once) in [("HTTP  ", httpOnce), ("Modbus", modbusOnce)] {
                let ms = try Self.paced(triggers, rate: rate, once)
                say(String(format: "  %@ at %5.1f/s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms", name, rate,
                           percentile(ms, 0.5), percentile(ms, 0.99), ms.max() ?? 0))
            }
        }
        say(String(format: "  Modbus figures include the PLC's poll period (%.1f ms) and its acknowledgement of each result", poll))
    }

    /// Runs `once` `count` times, starting one every 1/rate s (or at once when the last one took longer);
    /// returns each run's milliseconds.
    private static func paced(_ count: Int, rate: Double, _ once: () throws -> Void) throws -> [Double] {
        var out: [Double] = []
        var next = DispatchTime.now().uptimeNanoseconds
        let period = UInt64(1e9 / rate)
        for _ in 0..<count {
            let now = DispatchTime.now().uptimeNanoseconds
            if next > now { usleep(UInt32((next - now) / 1000)) }
            let start = DispatchTime.now().uptimeNanoseconds
            try once()
            out.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            next = max(next + period, start)
        }
        return out
    }

    /// The inference stage's mean from a Prometheus exposition, in ms.
    private static func inferenceMean(_ exposition: Data) -> Double {
        var sum = 0.0, count = 0.0
        for line in String(decoding: exposition, as: UTF8.self).split(separator: "\n") where line.contains("stage=\"inference\"") {
            let value = Double(line.split(separator: " ").last ?? "") ?? 0
            if line.hasPrefix("inspectd_stage_latency_seconds_sum") { sum = value }
            if line.hasPrefix("inspectd_stage_latency_seconds_count") { count = value }
        }
        return count > 0 ? sum / count * 1000 : 0
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
        func trigger(part: String) throws {
            var id = Array(part.utf8.prefix(64)) + [UInt8](repeating: 0, count: 64 - min(64, part.utf8.count))
            var registers = stride(from: 0, to: 64, by: 2).map { UInt16(id[$0]) << 8 | UInt16(id[$0 + 1]) }
            id.removeAll()
            guard modbus_write_registers(context, 16, 32, &registers) == 32, modbus_write_register(context, 0, 1) == 1 else {
                throw ValidationError("Modbus write failed")
            }
            var block = [UInt16](repeating: 0, count: 16)
            try wait { $0 & 4 != 0 }
            guard modbus_read_registers(context, 0, 16, &block) == 16, block[5] == 0 else {
                throw ValidationError("Modbus result: error code \(block[5])")
            }
            guard modbus_write_register(context, 0, 0) == 1 else { throw ValidationError("Modbus write failed") }
            try wait { $0 & 4 == 0 }
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
}
