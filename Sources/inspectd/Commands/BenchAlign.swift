import ArgumentParser
import Foundation
import Imaging

/// `inspectd bench align [--image TESTED] [--reference TEMPLATE] [--iterations N] [--shift DX,DY] [--rotation DEG]`:
/// how long reference inspection's imaging takes on one thread: aligning the frame to the golden board
/// (`ReferenceAligner`), composing the three-channel model input (`ReferenceComposer`), and both, each as
/// median and p90 of wall time and of the thread's CPU time. The frame is decoded to luma once, before timing
/// (decoding is `bench decode`'s figure).
///
/// Defaults to the first DeepPCB val image and its template from ../shared (or $INSPECTD_SHARED). Those pairs
/// are registered by the dataset, so composition usually copies; `--shift`/`--rotation` move the tested image
/// first (bilinear) to time the warping path. Run it under `taskset -c N` to hold it to one core.
struct BenchAlign: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "align",
                                                    abstract: "Reference alignment + three-channel composition time.")

    @Option(help: "Tested image (default: the first DeepPCB val image in ../shared or $INSPECTD_SHARED).") var image: String?
    @Option(help: "Reference (golden board) image (default: the tested image's DeepPCB template).") var reference: String?
    @Option(help: "Timed iterations.") var iterations = 300
    @Option(help: "Model input size (square).") var size = 640
    @Option(help: "Move the tested image by DX,DY pixels before timing (e.g. 7.5,-3).") var shift: String?
    @Option(help: "Turn the tested image by this many degrees before timing.") var rotation: Double = 0

    func run() throws {
        exitingOnInputError {
            guard iterations > 0 else { failWithInputError(["--iterations must be positive"]) }
            guard size > 0, size <= 4096 else { failWithInputError(["--size \(size) must be within 1...4096"]) }
            var move = (0.0, 0.0)
            if let shift {
                let parts = shift.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, let x = parts[0], let y = parts[1] else {
                    failWithInputError(["--shift \(shift): expected DX,DY in pixels, e.g. 7.5,-3"])
                }
                move = (x, y)
            }
            let (imagePath, referencePath) = try paths()
            let reader = ImageFileReader()
            let converter = try LumaConverter()
            let refPixels: [UInt8], framePixels: [UInt8], w: Int, h: Int
            do {
                let r = try converter.luma(of: reader.read(path: referencePath))
                (w, h) = (r.width, r.height)
                refPixels = Self.copy(r)
                framePixels = Self.copy(try converter.luma(of: reader.read(path: imagePath)))
            } catch { throw InputError("\(error)") }
            var frame = framePixels
            if move != (0, 0) || rotation != 0 {
                let t = RigidTransform(dx: -move.0, dy: -move.1, angle: -rotation * .pi / 180,
                                       centerX: Double(w) / 2, centerY: Double(h) / 2)
                frame = Self.warp(framePixels, width: w, height: h, by: t)
            }
            let refPlane = try refPixels.withUnsafeBufferPointer { try GrayPlane(base: $0.baseAddress!, width: w, height: h, stride: w) }
            let aligner = try ReferenceAligner(reference: refPlane)
            let composer = try ReferenceComposer(reference: refPlane, targetWidth: size, targetHeight: size)
            var input = [Float](repeating: 0, count: composer.inputCount)
            var tAlign: [Double] = [], tCompose: [Double] = [], tBoth: [Double] = []
            var cAlign: [Double] = [], cCompose: [Double] = [], cBoth: [Double] = []
            var last: AlignmentOutcome?, composed: ReferenceComposer.Composed?
            try frame.withUnsafeBufferPointer { fb in
                let plane = try GrayPlane(base: fb.baseAddress!, width: w, height: h, stride: w)
                try input.withUnsafeMutableBufferPointer { ib in
                    for i in 0..<(iterations + 10) {
                        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = Self.threadCPU()
                        let outcome = try aligner.align(plane)
                        let t1 = DispatchTime.now().uptimeNanoseconds, c1 = Self.threadCPU()
                        let transform = outcome.alignment?.transform ?? .identity(width: w, height: h)
                        composed = try composer.compose(frame: plane, transform: transform, into: ib.baseAddress!,
                                                        count: ib.count)
                        let t2 = DispatchTime.now().uptimeNanoseconds, c2 = Self.threadCPU()
                        if i >= 10 {  // 10 warm-up runs
                            tAlign.append(Double(t1 - t0) / 1e6); tCompose.append(Double(t2 - t1) / 1e6)
                            tBoth.append(Double(t2 - t0) / 1e6)
                            cAlign.append(c1 - c0); cCompose.append(c2 - c1); cBoth.append(c2 - c0)
                        }
                        last = outcome
                    }
                }
            }
            print("tested \(imagePath)\nreference \(referencePath)\n\(w)x\(h) -> \(size)x\(size)"
                  + (move != (0, 0) || rotation != 0 ? String(format: ", tested image moved by %.2f,%.2f px, %.2f°", move.0, move.1, rotation) : ""))
            switch last {
            case .aligned(let a)?:
                print(String(format: "aligned: %@, quality %.3f, peak %.3f; composition %@", a.transform.description,
                             a.quality, a.peak, composed?.resampled == true ? "resampled (bilinear)"
                                : "copied (shift \(composed?.copyShiftX ?? 0),\(composed?.copyShiftY ?? 0) px)"))
            case .refused(let r)?: print("refused: \(r) (composition timed with the identity)")
            case nil: break
            }
            // Wall time, and the thread's CPU time: on a shared machine the wall time also counts the time
            // the thread waited for a core, the CPU time does not.
            for (name, times, cpu) in [("align", tAlign, cAlign), ("compose", tCompose, cCompose), ("both", tBoth, cBoth)] {
                let t = times.sorted(), c = cpu.sorted(), p90 = min(t.count - 1, Int(Double(t.count) * 0.9))
                print(String(format: "%-8@ median %.3f ms, p90 %.3f ms, min %.3f ms; CPU time median %.3f ms, p90 %.3f ms",
                             name + ":", t[t.count / 2], t[p90], t[0], c[c.count / 2], c[p90]))
            }
            print("\(tBoth.count) iterations, 1 thread")
        }
    }

    /// The images to time: the options, else the first DeepPCB val pair under the shared folder.
    private func paths() throws -> (String, String) {
        if let image, let reference { return (image, reference) }
        let env = ProcessInfo.processInfo.environment["INSPECTD_SHARED"]
        // $INSPECTD_SHARED, ../shared from here, or ../shared beside the repository of a .build/<config> binary.
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("../../../shared").standardized.path
        let candidates: [String] = ([env, FileManager.default.currentDirectoryPath + "/../shared", beside] as [String?])
            .compactMap { $0 }
        for shared in candidates {
            let dir = shared + "/datasets/deeppcb/images/val"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir),
                  let first = names.filter({ $0.hasSuffix(".jpg") }).sorted().first else { continue }
            let name = image.map { URL(fileURLWithPath: $0).lastPathComponent } ?? first
            return (image ?? dir + "/" + name, reference ?? shared + "/datasets/deeppcb/templates/val/" + name)
        }
        throw InputError("no DeepPCB val images under \(candidates.joined(separator: " or ")); pass --image and --reference")
    }

    /// CPU time of the calling thread, milliseconds.
    private static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
    }

    private static func copy(_ p: GrayPlane) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: p.width * p.height)
        for y in 0..<p.height { for x in 0..<p.width { out[y * p.width + x] = p.base[y * p.stride + x] } }
        return out
    }

    /// out(p) = src(t(p)) with bilinear interpolation, edges replicated (the board moved by t's inverse).
    private static func warp(_ src: [UInt8], width w: Int, height h: Int, by t: RigidTransform) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let p = t.referencePoint(fromFrame: Double(x) + 0.5, Double(y) + 0.5)
                let fx = min(max(p.x - 0.5, 0), Double(w - 1)), fy = min(max(p.y - 0.5, 0), Double(h - 1))
                let x0 = min(Int(fx), w - 2), y0 = min(Int(fy), h - 2), ax = fx - Double(x0), ay = fy - Double(y0)
                let top = Double(src[y0 * w + x0]) * (1 - ax) + Double(src[y0 * w + x0 + 1]) * ax
                let bottom = Double(src[(y0 + 1) * w + x0]) * (1 - ax) + Double(src[(y0 + 1) * w + x0 + 1]) * ax
                out[y * w + x] = UInt8((top * (1 - ay) + bottom * ay).rounded())
            }
        }
        return out
    }
}
