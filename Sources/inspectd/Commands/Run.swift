import ArgumentParser
import Daemon
import Foundation
import Logging

/// `inspectd run --config FILE`: the daemon (systemd runs this; see systemd/inspectd.service).
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Runs the daemon: cameras → detector → audit database and MQTT, until SIGTERM/SIGINT.",
        discussion: "SIGHUP reloads the config. Exit codes: 0 clean stop, 2 config problem, 1 other failure.")

    @Option(name: .long, help: "The YAML config file (see Configs/inspectd.yaml).")
    var config: String

    func run() throws {
        HeapArenas.limitArenas()  // before any thread starts
        let loaded = try? InspectdConfig.load(path: config)
        JournalLogHandler.bootstrap(level: loaded?.logLevel ?? .info)
        let logger = Logger(label: "inspectd")
        // A config with problems gets exactly one line per problem (below), nothing else.
        if loaded != nil { logger.notice("inspectd \(BuildInfo.current.description) starting with \(config)") }
        let service = InspectionService(configPath: config, logger: logger)
        // Under systemd the problems are errors for `journalctl -p err`, like the logger's own lines.
        let prefix = JournalLogHandler.isJournalStream() ? "<3>inspectd: " : "inspectd: "
        let code = service.run { line in FileHandle.standardError.write(Data((prefix + line + "\n").utf8)) }
        if code != 0 { throw ExitCode(code) }
    }
}
