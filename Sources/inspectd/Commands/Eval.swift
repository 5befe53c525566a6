import ArgumentParser
import Daemon
import Detection
import Engine
import Foundation
import Imaging

/// `inspectd eval`: accuracy of a model on labelled images, through exactly the daemon's preprocessing,
/// engine and post-processing. mAP is COCO-style (101-point, maxDets 100), as pycocotools computes it.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Measures mAP@0.5, mAP@0.5:0.95, per-class AP and P/R/F1 on labelled images.")

    @Option(help: "ONNX model file.") var model: String
    @Option(help: "An Ultralytics data.yaml, or a folder with images/ and labels/ (YOLO format); golden images for a composed-input model in templates/ (or the data.yaml key templates) with the images' file names.") var data: String
    @Option(help: "data.yaml split to evaluate.") var split = "val"
    @Option(help: "Lowest confidence kept for mAP.") var conf: Float = 0.001
    @Option(help: "NMS IoU threshold.") var iou: Double = 0.7
    @Option(name: .customLong("report-conf"), help: "Confidence at which precision, recall and F1 are reported.")
    var reportConf: Float = 0.25
    @Flag(name: .customLong("all-labels"), help: "Keep every class above --conf per box (Ultralytics' validation setting) instead of the best class.")
    var allLabels = false
    @Option(help: "Threads inside one inference.") var threads: Int = 1
    @Flag(help: "Print one JSON object.") var json = false
    @Option(name: .customLong("report"), help: ArgumentHelp("Also write an HTML report into this folder: PR curves, best-F1 thresholds, confusion matrix, confidence histograms, worst misses and false alarms (DIR/index.html, opens offline).", valueName: "DIR"))
    var reportDir: String?

    func run() throws {
        let dataset = exitingOnInputError { try LabelledDataset(path: data, split: split) }
        let inspector = exitingOnInputError { () throws -> FrameInspector in
            let m = try Model(path: model)
            let settings = DetectionSettings(labels: allLabels ? .all : .best, thresholds: .init(base: conf),
                                             nms: .init(iou: iou, maxDetections: 300))
            let detector = try FrameDetector(outputShape: m.info.outputs.first?.shape ?? [],
                                             classNames: m.info.classNames, settings: settings)
            return try FrameInspector(model: m, detector: detector, threads: threads)
        }
        let classNames = inspector.detector.classNames
        let reader = ImageFileReader()
        var buffer: PixelBuffer?
        var truths: [GroundTruthBox] = []
        var detections: [ScoredBox] = []
        var latency: [Double] = []
        var problems: [String] = []
        var evaluated: [Int] = [], unreadable = 0, unusableGolden = 0, unaligned = 0
        // Progress only for a person watching: "eval: 37/100 images", redrawn in place.
        let progress = isatty(STDERR_FILENO) == 1
        func status(_ text: String) { if progress { FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8)) } }
        for (id, item) in dataset.items.enumerated() {
            status("eval: \(id)/\(dataset.items.count) images")
            do {
                let result: FrameInspector.Result
                do {
                    let pixels = try reader.read(path: item.image, reusing: buffer)
                    buffer = pixels
                    let reference = try inspector.composition.needsReference
                        ? ReferenceImage(path: item.template) : nil
                    result = try inspector.inspect(pixels, reference: reference)
                } catch {
                    // One unreadable image must not cost the figures of all the others.
                    status("")
                    let text = "\(error)"
                    printWarning("skipped " + (text.hasPrefix(item.image) ? text : "\(item.image): \(text)"))
                    switch error {
                    case is FrameInspector.ReferenceError: unaligned += 1
                    case is Imaging.ReferenceError: unusableGolden += 1
                    default: unreadable += 1
                    }
                    continue
                }
                evaluated.append(id)
                latency.append(result.timing.totalMs)
                truths += try LabelledDataset.groundTruths(labels: item.labels, imageID: id,
                                                           width: result.sourceWidth, height: result.sourceHeight)
                detections += result.candidates.map { ScoredBox(imageID: id, classID: $0.classID, score: $0.score, box: $0.box) }
            } catch {
                problems.append("\(item.image): \(error)")
            }
        }
        status("")
        if !problems.isEmpty { failWithInputError(problems) }
        let run = EvalReport.Run(model: model, data: data, images: evaluated.count, unreadable: unreadable,
                                 unusableGolden: unusableGolden, unaligned: unaligned, conf: conf, iou: iou)
        if evaluated.isEmpty {
            failWithInputError(["\(data): none of the \(dataset.items.count) images could be evaluated (\(run.skippedReasons))"])
        }
        if run.skipped > 0 {
            printWarning("skipped \(run.skipped) of \(dataset.items.count) images (\(run.skippedReasons)); "
                + "figures are over the other \(evaluated.count)")
        }
        let report = COCOEvaluator.evaluate(groundTruths: truths, detections: detections, classCount: classNames.count,
                                            imageIDs: evaluated, confidence: reportConf)
        if let dir = reportDir {
            exitingOnInputError {
                let path = try EvalReport.write(to: dir, report: report, truths: truths, detections: detections,
                                                classNames: classNames, imageIDs: evaluated,
                                                imagePaths: dataset.items.map(\.image),
                                                run: run)
                FileHandle.standardError.write(Data("inspectd: report written to \(path)\n".utf8))
            }
        }
        latency.sort()
        let median = latency.isEmpty ? 0 : latency[latency.count / 2]
        if json {
            let out = EvalJSON(model: model, sha256: inspector.model.info.sha256, data: data, images: evaluated.count,
                               labels: truths.count, conf: conf, iou: iou, report_conf: reportConf,
                               map50: report.map50, map50_95: report.map50_95,
                               precision: report.precision, recall: report.recall, f1: report.f1,
                               per_class: report.perClass.map {
                                   .init(class_id: $0.classID, class: classNames.indices.contains($0.classID) ? classNames[$0.classID] : "\($0.classID)",
                                         labels: $0.groundTruths, ap50: $0.ap50, ap50_95: $0.ap50_95,
                                         precision: $0.precision, recall: $0.recall, f1: $0.f1)
                               }, median_latency_ms: median)
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(out), as: UTF8.self))
            return
        }
        print("model \(model) on \(evaluated.count) images\(run.skipped > 0 ? " (\(run.skipped) skipped)" : ""), \(truths.count) labels (conf \(conf), NMS IoU \(iou))")
        print(String(format: "mAP@0.5 %.4f   mAP@0.5:0.95 %.4f   median latency %.1f ms", report.map50, report.map50_95, median))
        print(String(format: "at conf %.2f: precision %.4f  recall %.4f  F1 %.4f", reportConf, report.precision, report.recall, report.f1))
        print("class          labels   AP50    AP50:95  P       R       F1")
        for c in report.perClass {
            let name = classNames.indices.contains(c.classID) ? classNames[c.classID] : "\(c.classID)"
            let ap = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "  -   " }
            print(name.padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(format: " %6d   ", c.groundTruths) + ap(c.ap50) + "  " + ap(c.ap50_95)
                + String(format: "   %.4f  %.4f  %.4f", c.precision, c.recall, c.f1))
        }
    }
}

/// `inspectd eval --json` output.
private struct EvalJSON: Encodable {
    struct PerClass: Encodable {
        var class_id: Int
        var `class`: String
        var labels: Int
        var ap50: Double?
        var ap50_95: Double?
        var precision: Double
        var recall: Double
        var f1: Double
    }
    var model: String
    var sha256: String
    var data: String
    var images: Int
    var labels: Int
    var conf: Float
    var iou: Double
    var report_conf: Float
    var map50: Double
    var map50_95: Double
    var precision: Double
    var recall: Double
    var f1: Double
    var per_class: [PerClass]
    var median_latency_ms: Double
}
