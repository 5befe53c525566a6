import ArgumentParser
import Engine
import Foundation

struct ModelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model-info", abstract: "Prints a model's inputs, outputs, opset, ops, classes and sha256.")

    @Argument(help: "ONNX model file.") var model: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let m = exitingOnInputError { try Model(path: model) }
        let info = m.info
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try enc.encode(info), as: UTF8.self))
            return
        }
        print("model:     \(info.path)")
        print("sha256:    \(info.sha256)")
        print("producer:  \(info.producer)")
        print("opset:     \(info.opset)")
        print("quantized: \(info.isQuantized ? "yes (QDQ)" : "no")")
        for t in info.inputs { print("input:     \(t.name) \(t.elementType.rawValue) \(t.shape)") }
        for t in info.outputs { print("output:    \(t.name) \(t.elementType.rawValue) \(t.shape)") }
        print("classes:   " + (info.classNames.isEmpty ? "(none)" : info.classNames.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " ")))
        print("ops:       " + info.opCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
    }
}
