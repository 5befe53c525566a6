import ArgumentParser
import Daemon

/// `inspectd`: the daemon and its tools. One file per subcommand under Commands/.
@main
struct Inspectd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspectd",
        abstract: "Edge defect-inspection daemon: camera → INT8 detector → MQTT + SQLite audit.",
        version: "inspectd \(BuildInfo.current.description)",
        subcommands: [Run.self, CheckConfig.self, Detect.self, RunModel.self, ModelInfoCommand.self,
                      Bench.self, Eval.self, Audit.self])
}
