import Foundation
import Triggers
import XCTest

/// The trigger document shared by HTTP and MQTT: the part id is required, every field bounded, unknown keys and
/// wrong types refused with the key named.
final class TriggerRequestTests: XCTestCase {
    private func parse(_ json: String) throws(TriggerRequest.Problem) -> TriggerRequest { try TriggerRequest.parse(Data(json.utf8)) }

    private func problem(_ json: String) -> TriggerRequest.Problem? {
        do { _ = try parse(json); return nil } catch { return error }
    }

    func testAFullTrigger() throws {
        let t = try parse(#"{"part_id": "PCB-0001", "lot": "L7", "order": "PO-9", "recipe": "board-a", "trigger_id": "t-1", "meta": {"b": 2, "a": [1]}}"#)
        XCTAssertEqual(t.partID, "PCB-0001"); XCTAssertEqual(t.lot, "L7"); XCTAssertEqual(t.order, "PO-9")
        XCTAssertEqual(t.recipe, "board-a"); XCTAssertEqual(t.triggerID, "t-1")
        XCTAssertEqual(t.meta.map { String(decoding: $0, as: UTF8.self) }, #"{"a":[1],"b":2}"#)
        let minimal = try parse(#"{"part_id": "x", "lot": null}"#)
        XCTAssertEqual(minimal, TriggerRequest(partID: "x"))
    }

    func testProblemsNameTheField() {
        XCTAssertEqual(problem("{}")?.field, "part_id")
        XCTAssertEqual(problem(#"{"part_id": ""}"#)?.field, "part_id")
        XCTAssertEqual(problem(#"{"part_id": 42}"#)?.message, "must be a string")
        XCTAssertEqual(problem(#"{"part_id": "\#(String(repeating: "x", count: 65))"}"#)?.field, "part_id")
        XCTAssertNil(problem(#"{"part_id": "\#(String(repeating: "x", count: 64))"}"#))
        XCTAssertEqual(problem(#"{"part_id": "a\nb"}"#)?.field, "part_id")
        XCTAssertEqual(problem(#"{"part_id": "a\u0000b"}"#)?.field, "part_id")
        XCTAssertEqual(problem(#"{"part_id": "é"}"#)?.field, "part_id")
        XCTAssertEqual(problem(#"{"part_id": "p", "lots": "L1"}"#)?.field, "lots")
        XCTAssertEqual(problem(#"{"part_id": "p", "meta": [1]}"#)?.field, "meta")
        XCTAssertEqual(problem(#"{"part_id": "p", "meta": {"k": "\#(String(repeating: "v", count: 1100))"}}"#)?.field, "meta")
        XCTAssertEqual(problem(#"{"part_id": "p", "recipe": ""}"#)?.field, "recipe")
        XCTAssertEqual(problem(#""PCB-1""#)?.field, "body")
        XCTAssertEqual(problem("[1, 2]")?.field, "body")
        XCTAssertEqual(problem("{part_id: 1}")?.message, "not JSON")
        XCTAssertEqual(problem("")?.message, "not JSON")
        XCTAssertEqual(problem("{\"part_id\": \"\(String(repeating: " ", count: 9000))\"}")?.field, "body")
    }
}
