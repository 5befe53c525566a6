/// The Modbus TCP register map of the PLC handshake: one block of holding registers per camera, camera `k` (in
/// config order) starting at register `k * blockSize`. Register numbers are 0-based protocol addresses (a PLC
/// that counts from 40001 adds 40001). 16-bit registers; 32-bit values are two registers, high word first.
///
/// | offset | name | written by | meaning |
/// |---|---|---|---|
/// | 0 | control | PLC | bit 0 trigger: a rising edge starts an inspection of the part named in `part_id`; clearing it acknowledges the result |
/// | 1 | status | inspectd | bit 0 ready, bit 1 busy, bit 2 done, bit 3 error (done and error stay until the PLC clears trigger) |
/// | 2 | handshake | inspectd | counts finished triggers (wraps at 65535): the PLC sees a new result even if it missed `done` |
/// | 3 | verdict | inspectd | 0 none yet, 1 OK, 2 NG, 3 error |
/// | 4 | defect count | inspectd | defects of the last result |
/// | 5 | error code | inspectd | `ModbusRegisterMap.ErrorCode` of the last result, 0 none |
/// | 6–7 | sequence | inspectd | the inspection's sequence number (32-bit) |
/// | 8–15 | per-class counts | inspectd | defects of the last result for classes 0–7 of the model |
/// | 16–47 | part id | PLC | the part id in ASCII, 2 characters per register (high byte first), NUL or space padded, up to 64 |
public enum ModbusRegisterMap {
    /// Registers per camera.
    public static let blockSize = 64
    public static let control = 0, status = 1, handshake = 2, verdict = 3, defectCount = 4, errorCode = 5
    public static let sequence = 6, classCounts = 8, classCountSlots = 8, partID = 16, partIDRegisters = 32

    /// Bits of `control`.
    public static let triggerBit: UInt16 = 1 << 0
    /// Bits of `status`.
    public static let ready: UInt16 = 1 << 0, busy: UInt16 = 1 << 1, done: UInt16 = 1 << 2, error: UInt16 = 1 << 3

    /// Why a trigger gave no verdict (register `errorCode`).
    public enum ErrorCode: UInt16, Sendable, CaseIterable {
        case none = 0
        /// The part id registers hold no valid id (empty, or not printable ASCII).
        case badPartID = 1
        /// No frame was inspected within the camera's trigger timeout.
        case timeout = 2
        /// The camera is down.
        case cameraDown = 3
        /// The camera's trigger queue is full.
        case queueFull = 4
        /// The frame could not be judged (unaligned to its reference, unreadable, ...).
        case inspectionFailed = 5
        /// The station is stopping.
        case stopping = 6
        /// Trigger was set again while the inspection ran (the PLC dropped trigger early and re-triggered):
        /// the running inspection's result is withheld, as the PLC cannot tell which part it is for.
        case outOfOrder = 7
        /// The part-id registers changed while the part was inspected: the result is withheld, as it is not
        /// the result of the part id the registers now hold.
        case partIDChanged = 8
    }

    /// The first register of camera `index`'s block.
    public static func base(ofCamera index: Int) -> Int { index * blockSize }

    /// The part id held in `registers` (the 32 part-id registers): ASCII up to the first NUL, trailing spaces
    /// removed. Nil when it is empty or holds a byte that is not printable ASCII.
    public static func decodePartID(_ registers: some Collection<UInt16>) -> String? {
        var bytes: [UInt8] = []
        for r in registers {
            for b in [UInt8(r >> 8), UInt8(r & 0xFF)] {
                if b == 0 { return finish(bytes) }
                bytes.append(b)
            }
        }
        return finish(bytes)

        func finish(_ bytes: [UInt8]) -> String? {
            var b = bytes[...]
            while b.last == 0x20 { b = b.dropLast() }
            guard !b.isEmpty, b.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
            return String(decoding: b, as: UTF8.self)
        }
    }

    /// `text` as part-id registers (the PLC's side; tests and tools), NUL padded to 32 registers.
    public static func encodePartID(_ text: String) -> [UInt16] {
        var bytes = Array(text.utf8.prefix(2 * partIDRegisters))
        bytes += [UInt8](repeating: 0, count: 2 * partIDRegisters - bytes.count)
        return stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
    }
}
