import Detection
import Engine
import Foundation
import Imaging

/// The checks a config and its model pass before anything starts. `inspectd check-config` and the pipeline
/// (at start and on reload) run these same functions, so `run` does not fail on what the check accepted.
public enum ConfigCheck {
    /// Validates the file and, when it is valid, loads the model and checks it against the config: one float
    /// input [1, 3, H, W], a YOLO detection output that matches the model's class names, the config's class
    /// names, the golden images a composed-input model needs, each camera's detection rules, then one inference
    /// on a blank frame through the worker's own path (for a golden-board model, on a blank composed input).
    /// Returns the config and model info; throws `ConfigError` listing every problem.
    public static func run(path: String) throws -> (InspectdConfig, ModelInfo) {
        let config = try InspectdConfig.load(path: path)
        let model = try loadModel(config)
        let rules = try detectionRules(config, model: model)
        guard let first = config.cameras.first, let detector = rules[first.id]?.detector else {
            return (config, model.info)
        }
        do {
            let inspector = try FrameInspector(model: model, detector: detector, threads: 1, expectedPixels: 64 * 64)
            if inspector.composition.needsReference {
                try inspector.inspectBlankInput()
            } else {
                let blank = PixelBuffer(capacity: 64 * 64 * 3)
                blank.width = 64; blank.height = 64; blank.format = .rgb24; blank.byteCount = 64 * 64 * 3
                blank.bytes.initializeMemory(as: UInt8.self, repeating: 114, count: blank.byteCount)
                _ = try inspector.inspect(blank)
            }
        } catch {
            throw ConfigError(file: config.file, problems: [ConfigProblem(path: "model.path", message: "\(error)")])
        }
        return (config, model.info)
    }

    /// Reads every camera's golden images (`reference.image` and `reference.recipes`) as the daemon will: one
    /// that cannot be read, or cannot be aligned on (blank, too small), is a problem at its key.
    static func goldenImageProblems(_ config: InspectdConfig) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        for (i, camera) in config.cameras.enumerated() {
            guard let r = camera.reference else { continue }
            let settings = AlignmentSettings(maxShift: r.maxShift, maxRotationDegrees: r.maxRotation, minQuality: r.minMatch)
            let images = (r.image.map { [("image", $0)] } ?? []) + r.recipes.sorted { $0.key < $1.key }.map { ("recipes.\($0.key)", $0.value) }
            for (key, path) in images {
                do { _ = try ReferenceImage(path: path, settings: settings) } catch {
                    problems.append(ConfigProblem(path: "cameras[\(i)].reference.\(key)", message: "\(path): \(error)"))
                }
            }
        }
        return problems
    }

    /// Loads `config`'s model (with its `model.input_size`); a model that cannot be read is a problem at
    /// `model.path`.
    static func loadModel(_ config: InspectdConfig) throws -> Model {
        let shape = config.model.inputSize.map { [1, 3, $0[0], $0[1]] }
        do { return try Model(path: config.model.path, inputShape: shape) } catch {
            throw ConfigError(file: config.file, problems: [ConfigProblem(path: "model.path", message: "\(error)")])
        }
    }

    /// Checks `model` against `config` (for a golden-board model, every golden image too) and builds every
    /// camera's detection rules (keyed by camera id). Throws `ConfigError`: model problems at `model.path`, class
    /// names and golden images at their keys, camera rules at the camera.
    static func detectionRules(_ config: InspectdConfig, model: Model) throws -> [String: DetectionRules] {
        let info = model.info, file = config.file
        func modelProblem(_ message: String) -> ConfigError {
            ConfigError(file: file, problems: [ConfigProblem(path: "model.path", message: "\(info.path): \(message)")])
        }
        do { _ = try FrameInspector.inputSize(of: info) } catch { throw modelProblem("\(error)") }
        guard let output = info.outputs.first else {
            throw modelProblem("the model has no outputs; a detector has a YOLO output [1, 4+classes, boxes]")
        }
        let names = info.classNames
        let choice = config.detection.settings.outputLayout
        do { _ = try OutputLayout.resolve(shape: output.shape, classCount: names.isEmpty ? nil : names.count, choice: choice) }
        catch { throw modelProblem("output '\(output.name)': \(error)") }
        let composition: InputComposition
        do { composition = try InputComposition(model: info) } catch { throw modelProblem("\(error)") }
        var problems = config.problems(classNames: names)
            + config.referenceProblems(composition: composition, modelPath: info.path)
        if problems.isEmpty && composition.needsReference { problems = goldenImageProblems(config) }
        if !problems.isEmpty { throw ConfigError(file: file, problems: problems) }
        var rules: [String: DetectionRules] = [:]
        for (i, camera) in config.cameras.enumerated() {
            do {
                rules[camera.id] = try DetectionRules(config: config, camera: camera, index: i,
                                                      outputShape: output.shape, classNames: names)
            } catch {
                throw ConfigError(file: file, problems: [ConfigProblem(path: "cameras[\(i)]", message: "\(error)")])
            }
        }
        return rules
    }
}
