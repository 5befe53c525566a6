import Delivery
import Foundation
import Logging
import Triggers

/// The PLC's way in (`plc.modbus`): a Modbus TCP server with one register block per camera in
/// `trigger.mode: software` (config order), whose handshake hands each trigger to the pipeline and writes its
/// result back. Rebuilt on reload only when the listen address, unit id or the triggered cameras change.
final class PLCLink: Sendable {
    let server: ModbusTriggerServer
    let settings: ModbusTriggerServer.Settings

    /// The server settings `config` asks for, or nil when there is no PLC.
    static func settings(_ config: InspectdConfig) -> ModbusTriggerServer.Settings? {
        guard let m = config.plc.modbus else { return nil }
        return .init(host: m.listen.host, port: m.listen.port, unitID: m.unitID,
                     cameras: config.cameras.filter(\.trigger.isTriggered).map(\.id))
    }

    /// Starts serving; `pipeline` is asked for the pipeline in force at each trigger (it changes on reload).
    init(settings: ModbusTriggerServer.Settings, pipeline: @escaping @Sendable () -> Pipeline?, logger: Logger) throws {
        self.settings = settings
        server = try ModbusTriggerServer(settings: settings, logger: logger) { camera, partID, finish in
            let part = PartFields(partID: partID, source: "modbus")
            guard let pipeline = pipeline(),
                  pipeline.trigger(camera: camera, part: part, then: { finish(TriggerOutcome($0)) }) else {
                finish(.failed(.stopping))
                return
            }
        }
        let ids = settings.cameras.enumerated().map { "\($0.element) at register \(ModbusRegisterMap.base(ofCamera: $0.offset))" }
        let address = ListenAddress(host: settings.host, port: server.port)
        logger.info("PLC: Modbus TCP on \(address), unit \(settings.unitID): \(ids.joined(separator: ", "))")
    }

    /// Stops serving and closes the PLC's connections.
    func stop() { server.stop() }
}

extension TriggerOutcome {
    /// The registers' view of a trigger's result.
    init(_ r: TriggerResult) {
        guard let failure = r.failure else {
            var counts: [Int] = []
            for d in r.inspection?.defects ?? [] where d.classID >= 0 {
                if d.classID >= counts.count { counts += Array(repeating: 0, count: d.classID + 1 - counts.count) }
                counts[d.classID] += 1
            }
            self.init(verdict: r.verdict == "NG" ? .ng : .ok, defectCount: r.inspection?.defects.count ?? 0,
                      classCounts: counts, sequence: r.sequence)
            return
        }
        switch failure {
        case .timeout: self = .failed(.timeout)
        case .cameraDown: self = .failed(.cameraDown)
        case .queueFull: self = .failed(.queueFull)
        case .inspectionFailed: self = .failed(.inspectionFailed, sequence: r.sequence)
        case .stopping: self = .failed(.stopping)
        }
    }
}
