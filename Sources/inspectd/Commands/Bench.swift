import ArgumentParser

/// `inspectd bench`: benchmarks that print figures (never pass/fail). `inspectd bench --model M` is the engine
/// benchmark; the other stages have their own subcommands.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures (never pass/fail).",
        subcommands: [BenchModel.self, BenchDecode.self, BenchPostprocess.self, BenchAudit.self, BenchMQTT.self, BenchTrigger.self,
                      BenchPipeline.self, BenchAlign.self, BenchHTTP.self],
        defaultSubcommand: BenchModel.self)
}
