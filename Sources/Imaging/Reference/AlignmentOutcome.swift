/// What `ReferenceAligner.align` concluded about one frame.
public enum AlignmentOutcome: Sendable, Equatable {
    /// The frame lines up with the reference.
    case aligned(Alignment)
    /// The frame cannot be inspected against the reference; the reason says why.
    case refused(AlignmentRefusal)

    /// The alignment, or nil when refused.
    public var alignment: Alignment? { if case .aligned(let a) = self { return a } else { return nil } }
    /// The refusal, or nil when aligned.
    public var refusal: AlignmentRefusal? { if case .refused(let r) = self { return r } else { return nil } }
}

/// An accepted alignment.
public struct Alignment: Sendable, Equatable {
    /// Frame → reference motion (`ReferenceComposer` warps with it; boxes map back through its inverse).
    public var transform: RigidTransform
    /// Normalised cross-correlation of the aligned frame and the reference over the reference's edge pixels
    /// (1 = identical up to brightness and contrast).
    public var quality: Double
    /// Height of the phase-correlation peak of the coarse search (0...1; a sharp single peak is ≥ 0.1).
    public var peak: Double
}

/// Why a frame was refused, in words a plant engineer can act on.
public enum AlignmentRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The board moved further than the line allows (fixture, conveyor stop or camera mount).
    case shiftBeyondLimit(shift: Double, limit: Double)
    /// The board is turned further than the line allows.
    case rotationBeyondLimit(degrees: Double, limit: Double)
    /// The frame is blank or uniform (no board, lens cap, light off, overexposed): `structure` is its edge
    /// strength relative to the reference's.
    case tooLittleStructure(structure: Double, required: Double)
    /// The frame shows something else than the reference (another board or product, wrong side up).
    case doesNotMatch(quality: Double, required: Double)

    /// A short code for counters and payloads.
    public var code: String {
        switch self {
        case .shiftBeyondLimit: return "shift_beyond_limit"
        case .rotationBeyondLimit: return "rotation_beyond_limit"
        case .tooLittleStructure: return "too_little_structure"
        case .doesNotMatch: return "does_not_match_reference"
        }
    }

    /// One line for logs and operators.
    public var description: String {
        switch self {
        case .shiftBeyondLimit(let s, let l):
            return String(format: "board shifted %.1f px from the reference, more than the %.1f px allowed", s, l)
        case .rotationBeyondLimit(let d, let l):
            return String(format: "board rotated %.2f° from the reference, more than the %.2f° allowed", d, l)
        case .tooLittleStructure(let s, let r):
            return String(format: "frame is blank or uniform (edge strength %.0f%% of the reference's, %.0f%% needed)",
                          s * 100, r * 100)
        case .doesNotMatch(let q, let r):
            return String(format: "frame does not match the reference board (match %.2f, %.2f needed): wrong board or product?",
                          q, r)
        }
    }
}
