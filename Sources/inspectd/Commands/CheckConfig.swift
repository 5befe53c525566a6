import ArgumentParser
import Daemon
import Foundation

/// `inspectd check-config FILE`: validates a config file (and the model's class names) without starting.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validates a config file without starting: every problem on its own line, exit code 2.")

    @Argument(help: "The YAML config file.")
    var file: String

    func run() throws {
        do {
            let (config, model) = try ConfigCheck.run(path: file)
            print("\(file): OK")
            print("  site \(config.site.line)/\(config.site.station); model \(config.model.path) "
                  + "(\(model.classNames.count) classes: \(model.classNames.joined(separator: ", ")))")
            print("  \(config.workers.count) workers × \(config.workers.threadsPerWorker) threads; cameras: "
                  + config.cameras.map { "\($0.id) (\($0.source.type))" }.joined(separator: ", "))
            print("  audit \(config.audit.path); mqtt " + (config.mqtt.enabled
                ? "\(config.mqtt.host):\(config.mqtt.port) under \(config.mqtt.topicPrefix)" : "off")
                + "; http " + (config.http.enabled ? "\(config.http.listen)" : "off"))
            for warning in config.warnings { print("  warning: \(warning)") }
        } catch let e as ConfigError {
            failWithInputError(e.lines)
        }
    }
}
