import Engine
import Foundation

/// What a model's input holds, as the model itself declares it in its ONNX metadata (key `inspectd.input`,
/// written by Scripts/model/export_and_quantize.py), so the daemon never guesses.
public enum InputComposition: String, Sendable, Equatable {
    /// No key: the frame alone, RGB (every Ultralytics export).
    case image = "rgb"
    /// `frame,reference,absdiff`: channel 0 the frame's luma aligned to the golden image, 1 the golden image's
    /// luma, 2 their absolute difference (Imaging's `ReferenceComposer`).
    case frameReferenceDifference = "frame,reference,absdiff"

    /// The metadata key.
    public static let metadataKey = "inspectd.input"

    /// Reads the model's declaration. Throws `EngineError` naming the model and the value for a layout this
    /// version does not know (a model made for a newer inspectd).
    public init(model: ModelInfo) throws {
        guard let value = model.metadata[Self.metadataKey] else { self = .image; return }
        let normalized = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .joined(separator: ",")
        guard let known = InputComposition(rawValue: normalized) else {
            throw EngineError("\(model.path): metadata \(Self.metadataKey) = '\(value)' is not an input layout this "
                + "inspectd knows (rgb, frame,reference,absdiff)")
        }
        self = known
    }

    /// True when each frame needs its golden image.
    public var needsReference: Bool { self == .frameReferenceDifference }
}
