@testable import Engine
import Foundation
import XCTest

/// The onnx package's backend node test cases (engine-onnx-nodes.generate) through our reader and executor.
/// Inputs after the first of ops that take parameters as tensors (shapes, axes, scales...) are turned into
/// initializers: the engine folds those at load, as in exported models.
final class OnnxNodeConformanceTests: XCTestCase {
    static let dataOps: Set<String> = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Concat", "MatMul"]

    func readTensor(_ url: URL) throws -> (String, Tensor) {
        let bytes = [UInt8](try Data(contentsOf: url))
        return try bytes.withUnsafeBytes { b in var r = ProtobufReader(b); return try OnnxModel.parseTensor(&r) }
    }

    func testNodeCases() throws {
        let root = try EngineFixtures.requireGenerated("engine-onnx-nodes")
        let cases = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        var ran: [String: Int] = [:], passed: [String: Int] = [:], skipped: [(String, String)] = []
        var failures: [String] = []
        for name in cases {
            let dir = root.appendingPathComponent(name)
            if let reason = try? String(contentsOf: dir.appendingPathComponent("skip.txt"), encoding: .utf8) { skipped.append((name, reason)); continue }
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("model.onnx")))
            var onnx: OnnxModel
            do { onnx = try OnnxModel.parse(bytes) } catch { skipped.append((name, "\(error)")); continue }
            let op = onnx.nodes.first?.opType ?? "?"
            var inputs: [(String, Tensor)] = []
            var outputs: [Tensor] = []
            do {
                var k = 0
                while FileManager.default.fileExists(atPath: dir.appendingPathComponent("input_\(k).pb").path) {
                    inputs.append(try readTensor(dir.appendingPathComponent("input_\(k).pb"))); k += 1
                }
                k = 0
                while FileManager.default.fileExists(atPath: dir.appendingPathComponent("output_\(k).pb").path) {
                    outputs.append(try readTensor(dir.appendingPathComponent("output_\(k).pb")).1); k += 1
                }
            } catch { skipped.append((name, "\(error)")); continue }
            // Graph inputs in order; parameters become initializers.
            var runtime: [Tensor] = []
            for (i, v) in onnx.inputs.enumerated() where i < inputs.count {
                let isParam = onnx.nodes.count == 1 && i > 0 && !Self.dataOps.contains(op)
                if isParam { onnx.initializers[v.name] = inputs[i].1 } else { runtime.append(inputs[i].1) }
            }
            onnx.inputs = onnx.inputs.filter { onnx.initializers[$0.name] == nil }
            for (i, t) in runtime.enumerated() where i < onnx.inputs.count {
                onnx.inputs[i].dims = t.shape.map { Optional($0) }
                onnx.inputs[i].hasShape = true
            }
            let model: Model
            do { model = try Model(onnx: onnx, sha256: "", path: name, inputShape: runtime.first?.shape) } catch {
                skipped.append((name, "\(error)")); continue
            }
            ran[op, default: 0] += 1
            let s = try model.makeSession()
            for (i, t) in runtime.enumerated() {
                let dst = s.inputBytes(i)
                write(t, to: dst)
            }
            try s.run()
            var ok = model.plan.outputs.count == outputs.count
            var why = ok ? "" : "output count"
            for (i, want) in outputs.enumerated() where ok {
                let slot = model.plan.outputs[i]
                guard slot.value.shape == want.shape else { ok = false; why = "shape \(slot.value.shape) vs \(want.shape)"; break }
                let got = read(s.outputBytes(i), slot.value.dtype, count: want.count)
                let quantized = [.uint8, .int8].contains(slot.value.dtype)
                for j in 0..<want.count {
                    let w = want.value(j), g = got[j]
                    let tol = quantized ? 1.0 : 1e-7 + 1e-3 * abs(w)
                    if !(abs(g - w) <= tol || (g.isNaN && w.isNaN) || (g.isInfinite && g == w)) {
                        ok = false; why = "output \(i)[\(j)] = \(g), expected \(w)"; break
                    }
                }
            }
            if ok { passed[op, default: 0] += 1 } else { failures.append("\(name): \(why)") }
        }
        for op in ran.keys.sorted() { print("onnx node cases \(op): ran \(ran[op]!), passed \(passed[op] ?? 0)") }
        for (n, r) in skipped { print("onnx node case skipped \(n): \(r)") }
        print("onnx node cases: ran \(ran.values.reduce(0, +)), passed \(passed.values.reduce(0, +)), skipped \(skipped.count)")
        XCTAssertGreaterThan(ran.values.reduce(0, +), 100)
        XCTAssertEqual(failures, [], "failing node cases")
    }

    func write(_ t: Tensor, to dst: UnsafeMutableRawBufferPointer) {
        for i in 0..<t.count {
            switch t.dtype {
            case .float, .double: dst.storeBytes(of: t.floats[i], toByteOffset: i * 4, as: Float.self)
            case .uint8, .bool: dst.storeBytes(of: UInt8(truncatingIfNeeded: t.ints[i]), toByteOffset: i, as: UInt8.self)
            case .int8: dst.storeBytes(of: Int8(truncatingIfNeeded: t.ints[i]), toByteOffset: i, as: Int8.self)
            case .int32: dst.storeBytes(of: Int32(truncatingIfNeeded: t.ints[i]), toByteOffset: i * 4, as: Int32.self)
            case .int64: dst.storeBytes(of: t.ints[i], toByteOffset: i * 8, as: Int64.self)
            }
        }
    }

    func read(_ b: UnsafeRawBufferPointer, _ dtype: DType, count: Int) -> [Double] {
        (0..<count).map { i in
            switch dtype {
            case .float, .double: Double(b.load(fromByteOffset: i * 4, as: Float.self))
            case .uint8, .bool: Double(b.load(fromByteOffset: i, as: UInt8.self))
            case .int8: Double(b.load(fromByteOffset: i, as: Int8.self))
            case .int32: Double(b.load(fromByteOffset: i * 4, as: Int32.self))
            case .int64: Double(b.load(fromByteOffset: i * 8, as: Int64.self))
            }
        }
    }
}
