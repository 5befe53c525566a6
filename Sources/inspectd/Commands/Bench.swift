import ArgumentParser

/// `inspectd bench`: benchmarks that print figures. `inspectd bench --model M` is the engine benchmark.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures (never pass/fail).",
        subcommands: [BenchModel.self], defaultSubcommand: BenchModel.self)
}

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Engine latency on a model.")
    func run() throws { failWithInputError(["bench model is not built yet"]) }
}
