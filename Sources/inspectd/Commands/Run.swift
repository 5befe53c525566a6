import ArgumentParser

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Runs the daemon with a config file.")
    func run() throws { failWithInputError(["run is not built yet"]) }
}
