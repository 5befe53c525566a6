/// Limits of reference alignment (what the line tolerates before a frame is refused).
public struct AlignmentSettings: Sendable, Equatable {
    /// Largest translation accepted, pixels (length of (dx, dy)). Default 20.
    public var maxShift: Double
    /// Largest rotation accepted, degrees (either way). Default 2.
    public var maxRotationDegrees: Double
    /// Least match quality accepted: the normalised cross-correlation (−1...1) between the aligned frame and
    /// the reference over the reference's edge pixels. Same board aligned: 0.8-0.97 on DeepPCB (defects and
    /// JPEG noise lower it); another board: under 0.3. Default 0.5.
    public var minQuality: Double
    /// Least edge strength of the frame, as a fraction of the reference's (root-mean-square gradient at the
    /// coarse level). Below it the frame is refused as blank or uniform. Default 0.2.
    public var minStructure: Double

    /// Creates settings; the defaults suit DeepPCB-like 640×640 boards.
    public init(maxShift: Double = 20, maxRotationDegrees: Double = 2, minQuality: Double = 0.5,
                minStructure: Double = 0.2) {
        self.maxShift = maxShift; self.maxRotationDegrees = maxRotationDegrees
        self.minQuality = minQuality; self.minStructure = minStructure
    }

    /// Throws `ReferenceError.invalidSetting` naming the first value out of range.
    public func validate() throws {
        guard maxShift.isFinite, maxShift >= 0 else { throw ReferenceError.invalidSetting("max shift \(maxShift) px must be ≥ 0") }
        guard maxRotationDegrees.isFinite, maxRotationDegrees >= 0, maxRotationDegrees <= 10 else {
            throw ReferenceError.invalidSetting("max rotation \(maxRotationDegrees)° must be within 0...10")
        }
        guard minQuality.isFinite, minQuality >= -1, minQuality <= 1 else {
            throw ReferenceError.invalidSetting("min quality \(minQuality) must be within −1...1")
        }
        guard minStructure.isFinite, minStructure >= 0, minStructure <= 1 else {
            throw ReferenceError.invalidSetting("min structure \(minStructure) must be within 0...1")
        }
    }
}
