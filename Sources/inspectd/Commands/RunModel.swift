import ArgumentParser

struct RunModel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run-model", abstract: "Runs a model on a .npy input and writes its outputs as .npy.")
    func run() throws { failWithInputError(["run-model is not built yet"]) }
}
