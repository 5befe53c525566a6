import ArgumentParser

struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "JPEG decode + letterbox time.")
    func run() throws { failWithInputError(["bench decode is not built yet"]) }
}
