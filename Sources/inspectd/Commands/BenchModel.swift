import ArgumentParser

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Engine latency on a model.")
    func run() throws { failWithInputError(["bench model is not built yet"]) }
}
