/// Why a reference image or a frame cannot be used for reference inspection (a setup or input problem, not a
/// verdict on the board; see `AlignmentRefusal` for those).
public enum ReferenceError: Error, Equatable, CustomStringConvertible {
    /// Frame and reference differ in size; the camera's frame size and the reference image must agree.
    case sizeMismatch(frameWidth: Int, frameHeight: Int, referenceWidth: Int, referenceHeight: Int)
    /// The reference image has (almost) no edges to align on: a blank or uniform picture.
    case blankReference(structure: Double)
    /// The reference is too small (each side needs at least `minimum` pixels: 64 to align, 2 to compose).
    case referenceTooSmall(width: Int, height: Int, minimum: Int)
    /// A setting is out of range (the message names it and its range).
    case invalidSetting(String)
    /// A plane or buffer is unusable (zero size, short, wrong layout).
    case invalidPlane(String)
    /// The caller's output buffer is smaller than the model input.
    case outputTooSmall(needed: Int, got: Int)

    /// One line for logs and CLI errors.
    public var description: String {
        switch self {
        case .sizeMismatch(let fw, let fh, let rw, let rh):
            return "frame is \(fw)×\(fh) but the reference image is \(rw)×\(rh); they must be the same size"
        case .blankReference(let s):
            return String(format: "reference image has too little structure to align on (edge strength %.2f)", s)
        case .referenceTooSmall(let w, let h, let m): return "reference image \(w)×\(h) is too small (at least \(m)×\(m))"
        case .invalidSetting(let m): return "invalid alignment setting: \(m)"
        case .invalidPlane(let m): return "unusable image: \(m)"
        case .outputTooSmall(let n, let g): return "model input buffer holds \(g) floats, \(n) needed"
        }
    }
}
