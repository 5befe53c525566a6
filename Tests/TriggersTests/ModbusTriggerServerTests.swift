import Foundation
import Logging
import Synchronization
import TestSupport
import Triggers
import XCTest

/// The PLC handshake over Modbus TCP, with a real Modbus client (pymodbus) as the PLC: trigger with a part id,
/// busy, done with the results, acknowledge; a trigger without a part id is an error result; the handshake
/// counter counts every result; each camera has its own block.
final class ModbusTriggerServerTests: XCTestCase {
    /// Runs the PLC script for `camera` (block index) with `parts`; returns one decoded result per cycle.
    private func plc(_ server: ModbusTriggerServer, camera: Int, parts: [String]) throws -> [[String: Any]] {
        let python = TestProcess.python
        let script = TestProcess.repositoryRoot.appendingPathComponent("Tests/PLC/plc_handshake.py").path
        let run = try TestProcess.run(python, [script, "\(server.port)", "\(server.settings.unitID)", "\(camera)"] + parts,
                                      timeout: 120)
        XCTAssertEqual(run.status, 0, run.output)
        return run.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func testTheHandshakeCarriesThePartIdAndTheResults() throws {
        let seen = Mutex<[String]>([])
        let server = try ModbusTriggerServer(
            settings: .init(host: "127.0.0.1", port: 0, unitID: 7, cameras: ["cam1", "cam2"]),
            logger: Logger(label: "test.modbus")) { camera, partID, finish in
                seen.withLock { $0.append("\(camera):\(partID)") }
                let number = seen.withLock { $0.count }
                // Finish later, on another thread, as an inspection would.
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) {
                    if partID.hasSuffix("-NG") {
                        finish(TriggerOutcome(verdict: .ng, defectCount: 3, classCounts: [0, 2, 0, 1], sequence: UInt64(70_000 + number)))
                    } else if partID.hasSuffix("-TIMEOUT") {
                        finish(.failed(.timeout))
                    } else {
                        finish(TriggerOutcome(verdict: .ok, defectCount: 0, classCounts: [], sequence: UInt64(number)))
                    }
                }
            }
        defer { server.stop() }
        XCTAssertGreaterThan(server.port, 0)

        let results = try plc(server, camera: 1, parts: ["PCB-0001-NG", "PCB-0002", "PCB-0003-TIMEOUT"])
        XCTAssertEqual(seen.withLock { $0 }, ["cam2:PCB-0001-NG", "cam2:PCB-0002", "cam2:PCB-0003-TIMEOUT"])
        XCTAssertEqual(results.count, 3)
        guard results.count == 3 else { return }
        XCTAssertEqual(results[0]["verdict"] as? Int, 2)
        XCTAssertEqual(results[0]["defects"] as? Int, 3)
        XCTAssertEqual(results[0]["classes"] as? [Int], [0, 2, 0, 1, 0, 0, 0, 0])
        XCTAssertEqual(results[0]["sequence"] as? Int, 70_001, "32-bit sequence, high word first")
        XCTAssertEqual(results[0]["status"] as? Int, 0b0101, "ready and done")
        XCTAssertEqual(results[1]["verdict"] as? Int, 1)
        XCTAssertEqual(results[1]["classes"] as? [Int], [0, 0, 0, 0, 0, 0, 0, 0], "the last NG's counts are cleared")
        XCTAssertEqual(results[2]["verdict"] as? Int, 3)
        XCTAssertEqual(results[2]["error"] as? Int, Int(ModbusRegisterMap.ErrorCode.timeout.rawValue))
        XCTAssertEqual(results[2]["status"] as? Int, 0b1101, "ready, done and error")
        for r in results { XCTAssertEqual(r["handshake"] as? Int, 1, "one count per result") }

        // Another unit id gets no answer.
        let python = TestProcess.python
        let otherUnit = try TestProcess.run(python, ["-c", """
            import sys
            from pymodbus.client import ModbusTcpClient
            c = ModbusTcpClient("127.0.0.1", port=\(server.port), timeout=1, retries=0)
            c.connect()
            for unit in (7, 3):
                try:
                    r = c.read_holding_registers(65, count=1, device_id=unit)
                    print(unit, "error" if r.isError() else r.registers)
                except Exception as e:
                    print(unit, "no answer")
            """], timeout: 60)
        XCTAssertTrue(otherUnit.output.contains("7 [1]"), "unit 7 reads cam2's status (ready, idle): \(otherUnit.output)")
        XCTAssertTrue(otherUnit.output.contains("3 no answer"), otherUnit.output)

        // The other camera's block was untouched, and a trigger there without a part id is refused.
        let empty = try plc(server, camera: 0, parts: [""])
        XCTAssertEqual(empty.first?["error"] as? Int, Int(ModbusRegisterMap.ErrorCode.badPartID.rawValue))
        XCTAssertEqual(seen.withLock { $0.count }, 3, "no inspection for a trigger without a part id")
    }

    /// A PLC that breaks the handshake never gets a wrong result: re-triggering while busy withholds the running
    /// inspection's result (error 7), a part id changed mid-inspection too (error 8); one that only drops trigger
    /// early still gets its result, and the next trigger works.
    func testOutOfOrderWritesGiveAnErrorNeverAWrongResult() throws {
        let seen = Mutex<[String]>([])
        let server = try ModbusTriggerServer(
            settings: .init(host: "127.0.0.1", port: 0, unitID: 1, cameras: ["cam1"]),
            logger: Logger(label: "test.modbus")) { _, partID, finish in
                seen.withLock { $0.append(partID) }
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.6) {
                    finish(TriggerOutcome(verdict: .ok, defectCount: 0, classCounts: [], sequence: 5))
                }
            }
        defer { server.stop() }
        let run = try TestProcess.run(TestProcess.python, ["-c", """
            import sys, time, json
            from pymodbus.client import ModbusTcpClient
            c = ModbusTcpClient("127.0.0.1", port=\(server.port), timeout=5)
            assert c.connect()
            def rd(a, n=1): return c.read_holding_registers(a, count=n, device_id=1).registers
            def wr(a, v): c.write_registers(a, v if isinstance(v, list) else [v], device_id=1)
            def part(t):
                d = t.encode().ljust(64, b"\\0"); return [d[i] << 8 | d[i + 1] for i in range(0, 64, 2)]
            def until(f, what):
                end = time.monotonic() + 30
                while time.monotonic() < end:
                    s = rd(1)[0]
                    if f(s): return s
                    time.sleep(0.01)
                sys.exit("FAILED: " + what)
            out = {}
            # A: drop trigger while busy and set it again
            wr(16, part("A-1")); wr(0, 1); until(lambda s: s & 2, "busy A")
            wr(0, 0); wr(0, 1); until(lambda s: s & 4, "done A")
            b = rd(0, 8); out["A"] = {"status": b[1], "verdict": b[3], "error": b[5]}
            wr(0, 0); until(lambda s: not s & 12, "A acknowledged")
            # B: change the part id while busy
            wr(16, part("B-1")); wr(0, 1); until(lambda s: s & 2, "busy B")
            wr(16, part("B-2")); until(lambda s: s & 4, "done B")
            b = rd(0, 8); out["B"] = {"status": b[1], "verdict": b[3], "error": b[5]}
            wr(0, 0); until(lambda s: not s & 12, "B acknowledged")
            # C: drop trigger early only: the result still arrives; then a normal cycle
            wr(16, part("C-1")); wr(0, 1); until(lambda s: s & 2, "busy C")
            wr(0, 0); until(lambda s: s & 4, "done C")
            b = rd(0, 8); out["C"] = {"status": b[1], "verdict": b[3], "error": b[5]}
            wr(16, part("C-2")); wr(0, 1); until(lambda s: s & 4 and rd(2)[0] == b[2] + 1, "done C-2")
            b = rd(0, 8); out["C2"] = {"status": b[1], "verdict": b[3], "error": b[5]}
            wr(0, 0)
            print(json.dumps(out))
            """], timeout: 120)
        XCTAssertEqual(run.status, 0, run.output)
        let out = try XCTUnwrap(run.output.split(separator: "\n").last.flatMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: [String: Int]]
        }, run.output)
        XCTAssertEqual(out["A"], ["status": 0b1101, "verdict": 3, "error": Int(ModbusRegisterMap.ErrorCode.outOfOrder.rawValue)])
        XCTAssertEqual(out["B"], ["status": 0b1101, "verdict": 3, "error": Int(ModbusRegisterMap.ErrorCode.partIDChanged.rawValue)])
        XCTAssertEqual(out["C"], ["status": 0b0101, "verdict": 1, "error": 0], "dropping trigger early still gives the result")
        XCTAssertEqual(out["C2"], ["status": 0b0101, "verdict": 1, "error": 0])
        XCTAssertEqual(seen.withLock { $0 }, ["A-1", "B-1", "C-1", "C-2"], "no inspection for the out-of-order trigger")
    }

    func testPartIdRegisters() {
        XCTAssertEqual(ModbusRegisterMap.decodePartID(ModbusRegisterMap.encodePartID("PCB-42")), "PCB-42")
        XCTAssertEqual(ModbusRegisterMap.decodePartID(ModbusRegisterMap.encodePartID("odd")), "odd")
        XCTAssertEqual(ModbusRegisterMap.decodePartID(ModbusRegisterMap.encodePartID("AB  ")), "AB", "space padded")
        let long = String(repeating: "x", count: 64)
        XCTAssertEqual(ModbusRegisterMap.decodePartID(ModbusRegisterMap.encodePartID(long)), long, "64 characters fill all 32 registers")
        XCTAssertNil(ModbusRegisterMap.decodePartID(ModbusRegisterMap.encodePartID("")))
        XCTAssertNil(ModbusRegisterMap.decodePartID([0x4142, 0x0A43]), "a control character")
        XCTAssertNil(ModbusRegisterMap.decodePartID([0xC3A9]), "not ASCII")
    }

    func testABusyAddressIsAClearError() throws {
        let first = try ModbusTriggerServer(settings: .init(host: "127.0.0.1", port: 0, unitID: 1, cameras: ["cam1"]),
                                            logger: Logger(label: "test.modbus")) { _, _, _ in }
        defer { first.stop() }
        XCTAssertThrowsError(try ModbusTriggerServer(settings: .init(host: "127.0.0.1", port: first.port, unitID: 1, cameras: ["cam1"]),
                                                     logger: Logger(label: "test.modbus")) { _, _, _ in }) { error in
            XCTAssertTrue("\(error)".contains("cannot listen on 127.0.0.1:\(first.port)"), "\(error)")
        }
    }
}
