@testable import Engine
import Foundation
import TestSupport
import XCTest

/// The ONNX reader and the load-time checks: real models, hand-made models, and bad input of every kind.
final class ModelLoadingTests: XCTestCase {
    func testReferenceModelInfo() throws {
        let m = try Model(path: EngineFixtures.sharedModel("deeppcb-yolov8n.onnx"))
        XCTAssertEqual(m.info.opset, 18)
        XCTAssertEqual(m.info.inputs, [TensorInfo(name: "images", elementType: .float32, shape: [1, 3, 640, 640])])
        XCTAssertEqual(m.info.outputs.first?.shape, [1, 10, 8400])
        XCTAssertEqual(m.info.classNames, ["open", "short", "mousebite", "spur", "copper", "pin-hole"])
        XCTAssertEqual(m.info.opCounts["Conv"], 64)
        XCTAssertFalse(m.info.isQuantized)
        XCTAssertEqual(m.info.sha256.count, 64)
        let q = try Model(path: EngineFixtures.sharedModel("deeppcb-yolov8n.int8.onnx"))
        XCTAssertTrue(q.info.isQuantized)
    }

    func testClassNamesParsing() {
        XCTAssertEqual(Model.classNames("{0: 'open', 1: \"short\", 2: 'pin-hole'}"), ["open", "short", "pin-hole"])
        XCTAssertEqual(Model.classNames("{1: 'b'}"), ["class0", "b"])
        XCTAssertEqual(Model.classNames("garbage"), [])
        XCTAssertEqual(Model.classNames(nil), [])
    }

    /// A small Conv+Sigmoid·Mul+MaxPool model from hand-written protobuf, with unknown fields of every wire type
    /// and unpacked repeated dims, computes what a direct evaluation gives.
    func testHandWrittenModelRunsAndSkipsUnknownFields() throws {
        for unknown in [false, true] {
            let w: [Float] = [1, 0, -1, 2, 0.5, 0.25, -0.5, 1, 0]  // 1 output channel, 1 input, 3×3
            let bytes = OnnxWriter.model(input: [1, 1, 4, 4], output: [1, 1, 2, 2], nodes: [
                .init(op: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], name: "conv", intsAttrs: ["pads": [1, 1, 1, 1]]),
                .init(op: "Sigmoid", inputs: ["c"], outputs: ["s"], name: "sig"),
                .init(op: "Mul", inputs: ["c", "s"], outputs: ["m"], name: "mul"),
                .init(op: "MaxPool", inputs: ["m"], outputs: ["y"], name: "pool", intsAttrs: ["kernel_shape": [2, 2], "strides": [2, 2]]),
            ], initializers: [("w", [1, 1, 3, 3], w), ("b", [1], [0.5])], unknownFields: unknown)
            let m = try Model(bytes: bytes, path: "hand.onnx")
            XCTAssertEqual(m.info.classNames, ["open", "short"])
            let s = try m.makeSession()
            let x = (0..<16).map { Float($0 % 5) - 2 }
            for i in 0..<16 { s.input(0)[i] = x[i] }
            try s.run()
            // Direct evaluation.
            var c = [Float](repeating: 0, count: 16)
            for oh in 0..<4 { for ow in 0..<4 {
                var acc: Float = 0.5
                for i in 0..<3 { for j in 0..<3 {
                    let ih = oh - 1 + i, iw = ow - 1 + j
                    if ih >= 0 && ih < 4 && iw >= 0 && iw < 4 { acc += x[ih * 4 + iw] * w[i * 3 + j] }
                } }
                c[oh * 4 + ow] = acc / (1 + exp(-acc))
            } }
            let expect = (0..<4).map { k -> Float in
                let (oh, ow) = (k / 2 * 2, k % 2 * 2)
                return max(c[oh * 4 + ow], c[oh * 4 + ow + 1], c[oh * 4 + ow + 4], c[oh * 4 + ow + 5])
            }
            let out = Array(s.output(0).data)
            for (a, b) in zip(out, expect) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        }
    }

    func assertLoadError(_ bytes: [UInt8], contains text: String, inputShape: [Int]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Model(bytes: bytes, path: "bad.onnx", inputShape: inputShape), file: file, line: line) { e in
            let d = "\(e)"
            XCTAssertTrue(d.contains(text), "error \"\(d)\" should mention \"\(text)\"", file: file, line: line)
            XCTAssertTrue(d.contains("bad.onnx"), "error \"\(d)\" should name the file", file: file, line: line)
        }
    }

    func testBadInputsGiveClearErrors() throws {
        assertLoadError([], contains: "empty file")
        let good = OnnxWriter.model(input: [1, 1, 2, 2], output: [1, 1, 2, 2], nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])])
        XCTAssertNoThrow(try Model(bytes: good, path: "good.onnx"))
        assertLoadError(Array(good.prefix(good.count - 5)), contains: "past the end")
        var rng = SystemRandomNumberGenerator()
        assertLoadError((0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }, contains: "bad.onnx")
        assertLoadError(OnnxWriter.model(input: [1, 1, 2, 2], output: [1, 1, 2, 2], nodes: [.init(op: "Add", inputs: ["x", "bias"], outputs: ["y"], name: "add1")]),
                        contains: "input 'bias' is missing")
        assertLoadError(OnnxWriter.model(input: [1, 1, 2, 2], output: [1, 1, 2, 2], nodes: [.init(op: "FancyOp", inputs: ["x"], outputs: ["y"], name: "fancy")]),
                        contains: "FancyOp node 'fancy' (opset 18): unsupported op")
        assertLoadError(OnnxWriter.model(input: [1, 1, 2, 2], output: [1, 1, 2, 2], nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])],
                                         extraTensor: { t in t.int(1, 4); t.int(2, 1); t.string(8, "big"); t.int(14, 1) }),
                        contains: "external data")
        assertLoadError(OnnxWriter.model(input: [1, 1, 2, 2], output: [1, 1, 2, 2], nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["y"])],
                                         extraTensor: { t in t.int(1, 2); t.int(2, 10); t.string(8, "half"); t.bytesField(9, [0, 0, 0, 0]) }),
                        contains: "float16")
        assertLoadError(good, contains: "fixed shape", inputShape: [1, 1, 3, 3])
        // Wrong input dtype: an int64 graph input fed to a float op.
        var w = OnnxWriter()
        w.int(1, 8); w.message(8) { o in o.int(2, 18) }
        w.message(7) { g in
            g.message(1) { n in n.string(1, "x"); n.string(2, "y"); n.string(3, "relu"); n.string(4, "Relu") }
            g.message(11, OnnxWriter.valueInfo("x", [2], elem: 7)); g.message(12, OnnxWriter.valueInfo("y", [2], elem: 7))
        }
        assertLoadError(w.bytes, contains: "int64")
    }

    func testProtobufReaderBounds() throws {
        // A 10-byte varint overflow, a truncated fixed64 and a length past the end.
        for bytes: [UInt8] in [[0x08] + [UInt8](repeating: 0xff, count: 11), [0x09, 1, 2], [0x12, 0x05, 1], [0x0b], [0x00]] {
            XCTAssertThrowsError(try OnnxModel.parse(bytes))
        }
    }

    /// Inputs that crashed the loader under Scripts/fuzz (FuzzONNX), kept as regressions: each must fail with an
    /// error naming the node, not crash.
    func testFuzzFoundModelsFailCleanly() throws {
        let cases: [(String, String)] = [
            // Split (num_outputs 4) of a scalar input: indexed the shape at axis 0 (array out of range, SIGILL).
            ("CAgSDGJhY2tlbmQtdGVzdDrlAQpKCgVpbnB1dBIIb3V0cHV0XzESCG91dHB1dF8yEghvdXRwdXRfMxIIb3V0cHV0XzQiBVNwbGl0KhIKC251bV9vdXRwdXRzGASgAQISInRlc3Rfc3BsaXRfMWRfdW5ldmVuX3NwbGl0X29wc2V0MThaEwoFaW5wdXQSCgoICAESBBoCCAdiFgoIb3V0cHV0XzESCgoICAESBAoCCAJiFgoIb3R0cHV0XzMSCgoICAESBAoCCAJiFgoIb3V0cHV0XzMSCgoICAESBAoCCAJiFgoIb3V0cHV0XzQSCgoICAESBAoCCAFCBAoAEBI=",
             "scalar"),
            // MaxPool without inputs: read inputs[0] (array out of range, SIGILL).
            ("CAoSDGJhY2tlbmQtdGVzdDp7CiYaAXgSAXkiB01heFBvb2wqFQoMa2Vscm5lX3NoYXBlQAJAAqABBxIXdGVzdF9tYXhwb29sXzJkX2RlZmF1bHRaGwoBeBIWChQIARIQCgIIAQoCCAMKAgggCgIIIGIbCgF5EhYKFAgBEhAKAggBCgIIAwoCCB8KAggfQgQKABAW",
             "no first input"),
        ]
        for (base64, expected) in cases {
            let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: base64)))
            XCTAssertThrowsError(try Model(bytes: bytes, path: "fuzz.onnx")) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    /// Thousands of seeded mutations of a real model (byte flips, truncations, inserted garbage): the reader
    /// must throw or succeed, never crash.
    func testMutatedModelsNeverCrash() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: EngineFixtures.sharedModel("deeppcb-yolov8n.int8.onnx"))))
        // Mutate the graph structure region densely: the head of the file and near node definitions.
        var rng = SplitMix64(seed: 2026)
        var parsed = 0, rejected = 0, prepared = 0
        for i in 0..<3000 {
            var b = original
            switch i % 3 {
            case 0: for _ in 0..<Int.random(in: 1...8, using: &rng) { let k = Int.random(in: 0..<b.count, using: &rng); b[k] = UInt8.random(in: 0...255, using: &rng) }
            case 1: b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
            default: let k = Int.random(in: 0..<min(b.count, 200_000), using: &rng); b[k] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            }
            do {
                let m = try OnnxModel.parse(b)
                parsed += 1
                // Preparing a parsed mutant must also fail cleanly; only every 50th to keep the test short.
                if i % 50 == 0, (try? Model(onnx: m, sha256: "", path: "mutant", inputShape: nil)) != nil { prepared += 1 }
            } catch {
                rejected += 1
                XCTAssertFalse("\(error)".isEmpty, "mutant \(i) was rejected without a message")
            }
        }
        print("mutations: 3000, parsed \(parsed), rejected \(rejected), prepared \(prepared)")
        // Both outcomes happen: a reader that accepted every mutant (or none) would not be checking anything.
        XCTAssertEqual(parsed + rejected, 3000)
        XCTAssertGreaterThan(rejected, 100, "corrupt models were accepted")
        XCTAssertGreaterThan(parsed, 0, "no mutant parsed: the mutations never left a readable model")
        XCTAssertNoThrow(try OnnxModel.parse(original), "the unmutated model reads")
    }
}

/// A small seeded generator so that mutation runs are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
