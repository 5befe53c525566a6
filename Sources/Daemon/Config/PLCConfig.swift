import Foundation

/// `plc`: how a PLC reaches the station. Only `modbus` (Modbus TCP server, libmodbus) so far; absent = no PLC.
public struct PLCConfig: Sendable, Equatable {
    /// `plc.modbus`: inspectd serves one register block per camera with `trigger.mode: software` (README,
    /// "Connecting a PLC").
    public struct Modbus: Sendable, Equatable {
        /// IPv4 address and port (`listen`, default `127.0.0.1:1502`; 0 = any free port, logged). Modbus TCP has
        /// no authentication: listen beyond loopback only on the machine network the PLC is on.
        public var listen: ListenAddress
        /// The unit id the PLC addresses (`unit_id`, 0–247; requests for another unit get no answer).
        public var unitID: Int
    }
    /// nil: no Modbus server.
    public var modbus: Modbus?

    /// No PLC connection.
    public static let none = PLCConfig(modbus: nil)

    /// Reads `plc`.
    static func read(_ m: ConfigMapping) -> PLCConfig {
        guard m.has("modbus") else { return .none }
        return PLCConfig(modbus: m.section("modbus") { b -> Modbus in
            let listen = ListenAddress.read(b, "listen") ?? ListenAddress(host: "127.0.0.1", port: 1502)
            if listen.host.contains(":") || listen.host == "localhost" {
                b.report("listen", "'\(listen)': Modbus TCP listens on an IPv4 address (e.g. 0.0.0.0:502 or 127.0.0.1:1502)")
            } else if !listen.isLoopback {
                b.reader.warn("plc.modbus.listen \(listen) is reachable from other machines and Modbus TCP has no "
                              + "authentication: any host on that network can trigger inspections")
            }
            return Modbus(listen: listen, unitID: b.int("unit_id", default: 1, in: 0...247))
        })
    }
}
