import ArgumentParser

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validates a config file without starting.")
    func run() throws { failWithInputError(["check-config is not built yet"]) }
}
