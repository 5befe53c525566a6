import ArgumentParser
import Engine
import Foundation

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Engine latency on a model.")

    @Option(help: "ONNX model file.") var model: String
    @Option(help: "Threads inside one run.") var threads = 1
    @Option(help: "Timed runs.") var iterations = 50
    @Option(help: "Untimed runs first.") var warmup = 5
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also print the time of each op type and of every step.") var profile = false

    func run() throws {
        guard iterations >= 1, warmup >= 0, threads >= 1 else { failWithInputError(["--iterations ≥ 1, --warmup ≥ 0, --threads ≥ 1"]) }
        let m = exitingOnInputError { try Model(path: model) }
        let s = exitingOnInputError { try m.makeSession(threads: threads) }
        // A fixed pseudo-random frame: the engine's work does not depend on pixel values.
        let input = s.input(0)
        var seed: UInt32 = 12345
        for i in 0..<input.count { seed = seed &* 1_664_525 &+ 1_013_904_223; input[i] = Float(seed >> 8) / Float(1 << 24) }
        for _ in 0..<warmup { try s.run() }
        var ms: [Double] = []
        for _ in 0..<iterations {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try s.run()
            ms.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        ms.sort()
        if profile && !json { try printProfile(s) }
        func pct(_ p: Double) -> Double { ms[min(ms.count - 1, Int((p * Double(ms.count - 1)).rounded()))] }
        let median = pct(0.5), p10 = pct(0.1), p90 = pct(0.9)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let rssMB = Double(usage.ru_maxrss) / 1024
        let isa = Model.kernelISA
        if json {
            let obj: [String: Any] = ["model": model, "threads": s.threads, "iterations": iterations, "median_ms": median,
                                      "p10_ms": p10, "p90_ms": p90, "fps": 1000 / median, "isa": isa, "peak_rss_mb": rssMB,
                                      "quantized": m.info.isQuantized]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "model %@  threads %d  isa %@  iterations %d", model, s.threads, isa, iterations))
            print(String(format: "median %.2f ms  p10 %.2f ms  p90 %.2f ms  %.1f frames/s  peak RSS %.0f MB", median, p10, p90, 1000 / median, rssMB))
        }
    }

    /// Median time per step over the timed iterations, summed by op type, and the 15 slowest steps.
    func printProfile(_ s: Session) throws {
        var runs: [[(label: String, ms: Double)]] = []
        for _ in 0..<iterations { runs.append(try s.runProfiled()) }
        guard let first = runs.first else { return }
        let steps = first.indices.map { i -> (String, Double) in
            let v = runs.map { $0[i].ms }.sorted()
            return (first[i].label, v[v.count / 2])
        }
        var byOp: [String: (n: Int, ms: Double)] = [:]
        for (label, t) in steps {
            let op = String(label.split(separator: " ").first ?? "")
            byOp[op, default: (0, 0)].n += 1; byOp[op, default: (0, 0)].ms += t
        }
        let total = steps.reduce(0) { $0 + $1.1 }
        print(String(format: "profile: %d steps, %.2f ms summed", steps.count, total))
        for (op, v) in byOp.sorted(by: { $0.value.ms > $1.value.ms }) {
            print(String(format: "  %-24@ %4d steps %9.3f ms %5.1f%%", op, v.n, v.ms, 100 * v.ms / total))
        }
        print("steps, slowest first:")
        for (label, t) in steps.sorted(by: { $0.1 > $1.1 }) { print(String(format: "  %9.3f ms  %@", t, label)) }
    }
}
