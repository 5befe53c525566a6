import Foundation

/// One line of a benchmark's figures on standard output, written at once and unbuffered, so a long run piped to a
/// file or `tee` shows its samples as they come.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// The value below which a fraction `p` of `values` lie (nearest rank); 0 for no values.
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}
