import ArgumentParser

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Queries the audit database (read-only).")
    func run() throws { failWithInputError(["audit is not built yet"]) }
}
