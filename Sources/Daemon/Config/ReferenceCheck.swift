import Foundation

extension InspectdConfig {
    /// Problems between the cameras' `reference` sections and a model's declared input: a model that composes
    /// each frame with its golden image needs one on every camera (a synthetic camera's own board counts).
    /// `modelPath` names the model in the message.
    public func referenceProblems(composition: InputComposition, modelPath: String) -> [ConfigProblem] {
        guard composition.needsReference else { return [] }
        return cameras.enumerated().compactMap { i, camera in
            if camera.reference != nil { return nil }
            let hint = camera.source.type == "synthetic" ? "add `reference: {}` (the synthetic camera paints its own golden board)"
                : "add `reference: {image: PATH}` with the known-good image of the product"
            return ConfigProblem(path: "cameras[\(i)].reference",
                                 message: "camera '\(camera.id)' has no golden reference image, but the model "
                                    + "\((modelPath as NSString).lastPathComponent) compares each frame with one "
                                    + "(its metadata says \(InputComposition.metadataKey): \(composition.rawValue)); "
                                    + hint)
        }
    }
}
