import ArgumentParser

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Measures mAP on a labelled dataset.")
    func run() throws { failWithInputError(["eval is not built yet"]) }
}
