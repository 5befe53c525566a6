import ArgumentParser
import Engine
import Foundation

struct RunModel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run-model", abstract: "Runs a model on a .npy input and writes its outputs as .npy.")

    @Option(help: "ONNX model file.") var model: String
    @Option(help: "Input tensor (.npy, float32 or float64, the model's input shape).") var input: String
    @Option(help: "Output file (.npy, float32). With several outputs, _N is added before .npy for outputs after the first.") var output: String
    @Option(help: "Threads inside one run.") var threads = 1

    func run() throws {
        exitingOnInputError {
            let array = try NumpyArray(contentsOf: input)
            guard array.descriptor == "<f4" || array.descriptor == "<f8" else {
                throw InputError("\(input): dtype \(array.descriptor) given, the model input is float32")
            }
            let m = try Model(path: model, inputShape: array.shape)
            guard let want = m.info.inputs.first, want.shape == array.shape else {
                throw InputError("\(input): shape \(array.shape) does not match the model input \(m.info.inputs.first?.shape ?? [])")
            }
            guard want.elementType == .float32 else { throw InputError("\(model): input \(want.name) is \(want.elementType.rawValue); only float32 inputs are supported") }
            let s = try m.makeSession(threads: threads)
            let buf = s.input(0)
            for i in 0..<buf.count { buf[i] = array.values[i] }
            try s.run()
            for i in 0..<m.info.outputs.count {
                let v = s.output(i)
                let path = i == 0 ? output : output.replacingOccurrences(of: ".npy", with: "") + "_\(i).npy"
                try NumpyArray(shape: v.info.shape, values: Array(v.data)).write(to: path)
            }
        }
    }
}
