import CFuzz
import Foundation
import Triggers

// The trigger document of HTTP `POST /api/v1/cameras/{id}/trigger` and MQTT `{prefix}/{camera}/trigger`
// (TriggerRequest.parse), and the Modbus part-id registers (the input bytes read as big-endian registers).

/// libFuzzer's entry point: one input, never a crash, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrigger(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    if let request = try? TriggerRequest.parse(bytes) {
        // What parse accepts is within bounds: it can go into topics, file names and the database.
        precondition((try? request.validated()) == request, "parse accepted a trigger that validated() refuses")
    }
    let registers = stride(from: 0, to: size - 1, by: 2).map { UInt16(data[$0]) << 8 | UInt16(data[$0 + 1]) }
    if let partID = ModbusRegisterMap.decodePartID(registers.prefix(ModbusRegisterMap.partIDRegisters)) {
        precondition(ModbusRegisterMap.decodePartID(ModbusRegisterMap.encodePartID(partID)) == partID, "part id round trip")
    }
    return 0
}

/// The process entry (see cfuzz.h): libFuzzer's driver with the function above.
@_cdecl("FuzzTrigger_main")
public func fuzzTriggerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    cfuzz_run(argc, argv) { data, size in data.map { fuzzTrigger($0, size) } ?? 0 }
}
