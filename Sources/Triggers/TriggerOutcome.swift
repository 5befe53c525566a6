/// What a triggered inspection gave, as a PLC needs it: the verdict, counts and sequence, or why there is none.
public struct TriggerOutcome: Sendable, Equatable {
    /// The verdict registers' values.
    public enum Verdict: UInt16, Sendable { case ok = 1, ng = 2, error = 3 }

    public var verdict: Verdict
    /// Defects found (0 for an error).
    public var defectCount: Int
    /// Defects per class id of the model (index = class id).
    public var classCounts: [Int]
    /// The inspection's sequence number (0 when there was none).
    public var sequence: UInt64
    /// Why there is no verdict (`.none` for OK and NG).
    public var error: ModbusRegisterMap.ErrorCode

    /// A judged part.
    public init(verdict: Verdict, defectCount: Int, classCounts: [Int], sequence: UInt64) {
        self.verdict = verdict; self.defectCount = defectCount; self.classCounts = classCounts; self.sequence = sequence
        error = .none
    }

    /// A trigger that gave no verdict.
    public static func failed(_ error: ModbusRegisterMap.ErrorCode, sequence: UInt64 = 0) -> TriggerOutcome {
        var o = TriggerOutcome(verdict: .error, defectCount: 0, classCounts: [], sequence: sequence)
        o.error = error
        return o
    }
}
