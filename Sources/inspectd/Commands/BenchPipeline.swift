import ArgumentParser

struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pipeline", abstract: "End-to-end pipeline throughput and latency.")
    func run() throws { failWithInputError(["bench pipeline is not built yet"]) }
}
