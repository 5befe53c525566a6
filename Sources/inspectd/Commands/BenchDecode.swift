import ArgumentParser
import Foundation
import Imaging

/// `inspectd bench decode --image FILE [--size 640] [--iterations K]`: how long the worker's preprocessing
/// (JPEG decode, DCT-scaled when large, + letterbox into the float input) takes for one image on one core.
struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "JPEG decode + letterbox time.")

    @Option(help: "JPEG or PNG image to decode.") var image: String
    @Option(help: "Model input size (square).") var size: Int = 640
    @Option(help: "Timed iterations.") var iterations: Int = 200
    @Flag(help: "Decode at full size (no DCT scaling), as Ultralytics does.") var noDctScaling = false

    func run() throws {
        guard size > 0, size <= 4096 else { failWithInputError(["--size \(size) must be within 1...4096"]) }
        guard iterations > 0 else { failWithInputError(["--iterations must be positive"]) }
        let frame: PixelBuffer
        do { frame = try ImageFileReader().read(path: image) } catch { failWithInputError(["\(error)"]) }
        let pre = try FramePreprocessor(expectedPixels: 1920 * 1080, dctScaling: !noDctScaling)
        var input = [Float](repeating: 0, count: 3 * size * size)
        var times: [Double] = []
        var prepared: FramePreprocessor.Prepared?
        do {
            try input.withUnsafeMutableBufferPointer { buf in
                for i in 0..<(iterations + 5) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    prepared = try pre.prepare(frame, targetWidth: size, targetHeight: size, into: buf.baseAddress!)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    if i >= 5 { times.append(Double(t1 - t0) / 1e6) }  // 5 warm-up runs
                }
            }
        } catch { failWithInputError(["\(image): \(error)"]) }
        // The decode alone, to show where the time goes.
        var decodeTimes: [Double] = []
        if frame.format == .jpeg, let g = prepared?.geometry {
            let decoder = try JPEGDecoder()
            let out = PixelBuffer(capacity: g.sourceWidth * g.sourceHeight * 3)
            for _ in 0..<min(iterations, 100) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try? decoder.decode(frame.contents, into: out, format: .rgb24,
                                        minWidth: noDctScaling ? 0 : g.resizedWidth, minHeight: noDctScaling ? 0 : g.resizedHeight)
                decodeTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            decodeTimes.sort()
        }
        times.sort()
        let median = times[times.count / 2], p90 = times[min(times.count - 1, Int(Double(times.count) * 0.9))]
        let g = prepared!.geometry
        print("image \(image): \(g.sourceWidth)x\(g.sourceHeight) \(frame.format.rawValue) -> \(size)x\(size) "
              + "(resized \(g.resizedWidth)x\(g.resizedHeight), pad \(g.padLeft),\(g.padTop)), DCT scaling \(noDctScaling ? "off" : "on")")
        print(String(format: "decode+letterbox: median %.3f ms, p90 %.3f ms, min %.3f ms over %d iterations (1 thread)",
                     median, p90, times[0], times.count))
        if !decodeTimes.isEmpty {
            print(String(format: "  of which JPEG decode to RGB alone: median %.3f ms (%d bytes of JPEG)",
                         decodeTimes[decodeTimes.count / 2], frame.byteCount))
        }
        if let w = prepared?.warning { print("warning: \(w)") }
    }
}
