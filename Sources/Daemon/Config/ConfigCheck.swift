import Engine
import Foundation

/// `inspectd check-config`: the config file's own problems, then the ones that need the model (class names).
public enum ConfigCheck {
    /// Validates the file and, when it is valid, loads the model's metadata to check class names.
    /// Returns the config and model info; throws `ConfigError` listing every problem.
    public static func run(path: String) throws -> (InspectdConfig, ModelInfo) {
        let config = try InspectdConfig.load(path: path)
        let shape = config.model.inputSize.map { [1, 3, $0[0], $0[1]] }
        let model: Model
        do { model = try Model(path: config.model.path, inputShape: shape) } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(path: "model.path", message: "\(error)")])
        }
        let problems = config.problems(classNames: model.info.classNames)
        if !problems.isEmpty { throw ConfigError(file: path, problems: problems) }
        return (config, model.info)
    }
}
