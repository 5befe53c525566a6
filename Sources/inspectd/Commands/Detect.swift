import ArgumentParser

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect", abstract: "Runs the detector on images and prints one JSON line per image.")
    func run() throws { failWithInputError(["detect is not built yet"]) }
}
