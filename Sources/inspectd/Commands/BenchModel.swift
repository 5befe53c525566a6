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
}
