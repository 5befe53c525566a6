import ArgumentParser
import Detection
import Foundation

/// `inspectd bench postprocess`: time of decode + pre-filter + NMS (`FrameDetector`) and thresholds + adaptive
/// update + line rules (`CameraJudge`) on a synthetic Ultralytics output with a realistic score distribution:
/// background boxes with low class scores and a few defects, each proposed by a cluster of overlapping boxes.
struct BenchPostprocess: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "postprocess", abstract: "YOLO decode + thresholds + NMS time.")

    @Option(help: "Candidate boxes in the model output (8400 for a 640×640 YOLOv8).") var candidates = 8400
    @Option(help: "Classes.") var classes = 6
    @Option(help: "Timed iterations.") var iterations = 2000
    @Option(help: "Defects per frame (each proposed by ~20 boxes).") var defects = 8
    @Option(help: "Base confidence threshold.") var conf: Float = 0.25
    @Option(help: "NMS IoU threshold.") var iou: Double = NMSSettings.defaultIoU
    @Flag(help: "Adaptive thresholds on every class (lower pre-filter: more candidates).") var adaptive = false

    func validate() throws {
        var problems: [String] = []
        if candidates < 1 { problems.append("--candidates must be at least 1") }
        if classes < 1 { problems.append("--classes must be at least 1") }
        if iterations < 1 { problems.append("--iterations must be at least 1") }
        if defects < 0 { problems.append("--defects must not be negative") }
        if !problems.isEmpty { throw InputError(problems) }
    }

    func run() throws {
        exitingOnInputError {
            let names = (0..<classes).map { "class\($0)" }
            let settings = DetectionSettings(thresholds: ThresholdSettings(base: conf),
                                             adaptive: AdaptiveSettings(enabled: adaptive), nms: NMSSettings(iou: iou))
            let detector: FrameDetector, judge: CameraJudge
            do {
                detector = try FrameDetector(outputShape: [1, 4 + classes, candidates], classNames: names, settings: settings)
                judge = try CameraJudge(cameraID: "bench", classNames: names, settings: settings,
                                        rules: CameraRules(lineRules: [
                                            LineRule(id: "x3", kind: .consecutiveClass, frames: 3),
                                            LineRule(id: "rate", kind: .ngRate, frames: 100, ngPercent: 20)]))
            } catch let error as SettingsError {
                throw InputError(error.problems.map(\.description))
            } catch {
                throw InputError("\(error)")
            }
            let output = syntheticOutput()
            let mapping = SourceMapping(scale: 0.5, padX: 0, padY: 140, sourceWidth: 1280, sourceHeight: 720)
            let scratch = detector.makeScratch()
            let clock = ContinuousClock()
            var times: [Double] = [], detectTimes: [Double] = []
            times.reserveCapacity(iterations); detectTimes.reserveCapacity(iterations)
            func ms(_ d: Duration) -> Double { Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1e3 }
            var kept = 0, defectsFound = 0
            let start = Date()
            output.withUnsafeBufferPointer { tensor in
                for i in 0..<(iterations + 50) {
                    let t0 = clock.now
                    let found = (try? detector.detect(output: tensor, mapping: mapping, scratch: scratch)) ?? []
                    let t1 = clock.now
                    let inspection = judge.judge(found, frame: FrameStamp(sequence: UInt64(i), captureTime: start))
                    let elapsed = clock.now - t0
                    if i >= 50 {   // warm-up: scratch buffers grow on the first frames
                        times.append(ms(elapsed)); detectTimes.append(ms(t1 - t0))
                    }
                    kept = found.count; defectsFound = inspection.defects.count
                }
            }
            times.sort(); detectTimes.sort()
            func quantile(_ values: [Double], _ q: Double) -> String {
                String(format: "%.3f", values[min(values.count - 1, Int(q * Double(values.count)))])
            }
            let mean = times.reduce(0, +) / Double(times.count)
            print("postprocess: \(candidates) candidates × \(classes) classes, \(defects) defects/frame, conf \(conf), "
                + "NMS IoU \(iou)\(adaptive ? ", adaptive" : ""), \(iterations) iterations, one thread")
            print("  candidates above the pre-filter: \(scratch.candidateCount), after NMS: \(kept), defects: \(defectsFound)")
            print("  ms per frame: median \(quantile(times, 0.5))  mean \(String(format: "%.3f", mean))  "
                + "p99 \(quantile(times, 0.99))  min \(quantile(times, 0))")
            print("    of which decode + pre-filter + NMS: median \(quantile(detectTimes, 0.5))")
        }
    }

    /// An Ultralytics [1, 4+nc, N] tensor shaped like the reference DeepPCB model's output on its val images:
    /// background class scores exponential with median ≈ 3e-5, 0.3% of them spread over 0.001…0.15, and
    /// `defects` objects each covered by 20 neighbouring boxes scoring 0.05…0.9 (≈ 60–100 boxes above 0.15,
    /// ≈ 200–300 above 0.001, as measured there with onnxruntime).
    private func syntheticOutput() -> [Float] {
        var rng = SystemRandomNumberGenerator()
        let n = candidates
        var t = [Float](repeating: 0, count: (4 + classes) * n)
        for i in 0..<n {
            t[i] = Float.random(in: 0..<640, using: &rng); t[n + i] = Float.random(in: 0..<640, using: &rng)
            t[2 * n + i] = Float.random(in: 4..<60, using: &rng); t[3 * n + i] = Float.random(in: 4..<60, using: &rng)
            for c in 0..<classes {
                let u = Float.random(in: Float.ulpOfOne..<1, using: &rng)
                t[(4 + c) * n + i] = u < 0.003 ? Float.random(in: 0.001..<0.15, using: &rng) : -4.3e-5 * Float(Foundation.log(Double(u)))
            }
        }
        for d in 0..<defects {
            let cx = Float.random(in: 40..<600, using: &rng), cy = Float.random(in: 40..<600, using: &rng)
            let w = Float.random(in: 10..<40, using: &rng), h = Float.random(in: 10..<40, using: &rng)
            let c = d % classes
            for _ in 0..<20 {
                let i = Int.random(in: 0..<n, using: &rng)
                t[i] = cx + Float.random(in: -3..<3, using: &rng); t[n + i] = cy + Float.random(in: -3..<3, using: &rng)
                t[2 * n + i] = w * Float.random(in: 0.85..<1.15, using: &rng)
                t[3 * n + i] = h * Float.random(in: 0.85..<1.15, using: &rng)
                t[(4 + c) * n + i] = Float.random(in: 0.05..<0.9, using: &rng)
            }
        }
        return t
    }
}
