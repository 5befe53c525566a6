import ArgumentParser

struct BenchAudit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Audit writer throughput.")
    func run() throws { failWithInputError(["bench audit is not built yet"]) }
}
