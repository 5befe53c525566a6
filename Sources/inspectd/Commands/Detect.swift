import ArgumentParser
import Daemon
import Detection
import Engine
import Foundation
import Imaging

/// `inspectd detect`: the daemon's path (letterbox, engine, decode, NMS, thresholds) on image files, one JSON
/// line per image. Unreadable images are reported on stderr and make the exit code 2; the others still print.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect", abstract: "Runs the detector on images and prints one JSON line per image.")

    @Option(help: "ONNX model file (Ultralytics export, FP32 or INT8 QDQ).") var model: String
    @Option(help: "Confidence threshold.") var conf: Float = 0.25
    @Option(help: "NMS IoU threshold (class-aware).") var iou: Double = 0.7
    @Option(help: "Threads inside one inference.") var threads: Int = 1
    @Option(help: "Golden (known-good) image every image is aligned to and compared with, for a model whose metadata declares a composed input (inspectd.input).")
    var reference: String?
    @Option(help: "Folder of golden images, one per image under the same file name (instead of --reference).")
    var references: String?
    @Argument(help: "JPEG or PNG images.") var images: [String]

    func run() throws {
        let inspector = exitingOnInputError { () throws -> FrameInspector in
            guard (0...1).contains(conf) else { throw InputError("--conf must be within 0…1, got \(conf)") }
            guard iou > 0 && iou <= 1 else { throw InputError("--iou must be within (0, 1], got \(iou)") }
            let m = try Model(path: model)
            let settings = DetectionSettings(thresholds: .init(base: conf), nms: .init(iou: iou))
            let detector = try FrameDetector(outputShape: m.info.outputs.first?.shape ?? [], classNames: m.info.classNames,
                                             settings: settings)
            return try FrameInspector(model: m, detector: detector, threads: threads)
        }
        let judge = exitingOnInputError {
            try CameraJudge(cameraID: "detect", classNames: inspector.detector.classNames,
                            settings: inspector.detector.settings)
        }
        let golden = exitingOnInputError { () throws -> GoldenImages in
            try GoldenImages(reference: reference, folder: references, needed: inspector.composition.needsReference,
                             model: model)
        }
        let reader = ImageFileReader()
        var buffer: PixelBuffer?
        var problems: [String] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for (index, path) in images.enumerated() {
            do {
                let pixels = try reader.read(path: path, reusing: buffer)
                buffer = pixels
                let result = try inspector.inspect(pixels, reference: try golden.reference(for: path))
                let inspection = judge.judge(result.candidates, frame: FrameStamp(sequence: UInt64(index), captureTime: Date()))
                let line = DetectLine(image: path, width: result.sourceWidth, height: result.sourceHeight,
                                      latency_ms: (result.timing.totalMs * 1000).rounded() / 1000,
                                      detections: inspection.defects.map {
                                          .init(class_id: $0.classID, class: $0.className, confidence: $0.confidence,
                                                box: [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2])
                                      },
                                      alignment: result.alignment.map {
                                          .init(dx: ($0.dx * 1000).rounded() / 1000, dy: ($0.dy * 1000).rounded() / 1000,
                                                degrees: ($0.degrees * 10000).rounded() / 10000)
                                      })
                print(String(decoding: try encoder.encode(line), as: UTF8.self))
            } catch {
                problems.append("\(path): \(error)")
            }
        }
        if !problems.isEmpty { failWithInputError(problems) }
    }
}

/// One line of `inspectd detect` output.
private struct DetectLine: Encodable {
    struct Detection: Encodable {
        var class_id: Int
        var `class`: String
        var confidence: Float
        var box: [Float]
    }
    var image: String
    var width: Int
    var height: Int
    var latency_ms: Double
    var detections: [Detection]
    /// Frame → golden image motion (golden-board models only): shift in pixels, rotation in degrees.
    struct Alignment: Encodable { var dx: Double; var dy: Double; var degrees: Double }
    var alignment: Alignment?
}
