import ArgumentParser

struct BenchPostprocess: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "postprocess", abstract: "YOLO decode + thresholds + NMS time.")
    func run() throws { failWithInputError(["bench postprocess is not built yet"]) }
}
