import ArgumentParser
import Foundation
import Imaging

/// `inspectd bench decode --image FILE [--size 640] [--iterations K] [--no-dct-scaling]`: how long a worker's
/// preprocessing of one frame takes on one thread: JPEG decode (DCT-scaled when the frame is at least twice the
/// model input), letterbox into the float input, and the total, each as median, p90 and minimum.
///
/// A camera-like 1080p JPEG for it is made by `Scripts/fixtures/imaging-letterbox.generate`:
/// `Tests/Fixtures/generated/imaging-letterbox/camera-1080p.jpg` (two DeepPCB boards upscaled, coloured,
/// blurred and noised like a sensor, quality 90, 4:2:0). Run it under `taskset -c N` to hold it to one core.
struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "JPEG decode + letterbox time.")

    @Option(help: "JPEG or PNG image to decode.") var image: String
    @Option(help: "Model input size (square).") var size: Int = 640
    @Option(help: "Timed iterations.") var iterations: Int = 300
    @Flag(help: "Decode at full size (no DCT scaling), as Ultralytics does.") var noDctScaling = false

    func run() throws {
        guard size > 0, size <= 4096 else { failWithInputError(["--size \(size) must be within 1...4096"]) }
        guard iterations > 0 else { failWithInputError(["--iterations must be positive"]) }
        let frame: PixelBuffer
        do { frame = try ImageFileReader().read(path: image) } catch { failWithInputError(["\(error)"]) }
        let pre = try FramePreprocessor(expectedPixels: 1920 * 1080, dctScaling: !noDctScaling)
        var input = [Float](repeating: 0, count: 3 * size * size)
        var total: [Double] = [], decode: [Double] = [], letterbox: [Double] = []
        var prepared: FramePreprocessor.Prepared?
        do {
            try input.withUnsafeMutableBufferPointer { buf in
                for i in 0..<(iterations + 10) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let p = try pre.prepare(frame, targetWidth: size, targetHeight: size, into: buf.baseAddress!)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    if i >= 10 {  // 10 warm-up runs
                        total.append(Double(t1 - t0) / 1e6); decode.append(p.decodeMs); letterbox.append(p.letterboxMs)
                    }
                    prepared = p
                }
            }
        } catch { failWithInputError(["\(image): \(error)"]) }
        guard let p = prepared else { return }
        let g = p.geometry
        let path = frame.format != .jpeg ? "raw frame"
            : (p.decodedWidth == g.sourceWidth ? "full decode" : "DCT-scaled decode to \(p.decodedWidth)x\(p.decodedHeight)")
        print("image \(image): \(g.sourceWidth)x\(g.sourceHeight) \(frame.format.rawValue), \(frame.byteCount) bytes -> "
              + "\(size)x\(size) (resized \(g.resizedWidth)x\(g.resizedHeight), pad \(g.padLeft),\(g.padTop)); \(path)")
        for (name, times) in [("decode", decode), ("letterbox", letterbox), ("total", total)] {
            let t = times.sorted()
            print(String(format: "%-10@ median %.3f ms, p90 %.3f ms, min %.3f ms", name + ":", t[t.count / 2],
                         t[min(t.count - 1, Int(Double(t.count) * 0.9))], t[0]))
        }
        print("\(total.count) iterations, 1 thread")
        if let w = p.warning { print("warning: \(w)") }
    }
}
