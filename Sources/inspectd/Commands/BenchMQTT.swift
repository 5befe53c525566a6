import ArgumentParser

struct BenchMQTT: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mqtt", abstract: "MQTT delivery throughput to a local broker.")
    func run() throws { failWithInputError(["bench mqtt is not built yet"]) }
}
