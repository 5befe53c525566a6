import ArgumentParser

struct ModelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model-info", abstract: "Prints a model's inputs, outputs, opset, ops, classes and sha256.")
    func run() throws { failWithInputError(["model-info is not built yet"]) }
}
