import Detection
import Foundation

/// What Detection needs for one camera, built from the daemon config: the stateless per-frame detector
/// (shared by all workers) and a factory for the stateful in-order judge.
struct DetectionRules: Sendable {
    /// Decodes, NMS, ROI and box filters (stateless, used by every worker).
    let detector: FrameDetector
    /// Settings the judge is built with.
    let settings: DetectionSettings
    /// ROI, box filters and line rules of the camera.
    let cameraRules: CameraRules
    /// Class names of the model.
    let classNames: [String]

    /// Builds the rules for `camera` under `config`; throws `DaemonError` naming the camera's keys.
    init(config: InspectdConfig, camera: CameraConfig, index: Int, outputShape: [Int], classNames: [String]) throws {
        let d = config.detection
        var perClass: [String: Float] = [:]
        for c in d.classes { if let v = c.value.confidence { perClass[c.name] = Float(v) } }
        for c in camera.thresholds.classes { perClass[c.name] = Float(c.value) }
        let base = Float(camera.thresholds.confidence ?? d.confidence)
        let adaptive = AdaptiveSettings(enabled: d.adaptive.enabled, classes: d.adaptive.classes?.map(\.name),
                                        window: d.adaptive.window, minSamples: d.adaptive.minSamples,
                                        percentile: d.adaptive.percentile, margin: Float(d.adaptive.margin),
                                        floor: d.adaptive.floor.map(Float.init), ceiling: Float(d.adaptive.ceiling),
                                        driftAfterSeconds: d.adaptive.driftAfter.seconds)
        let nms = NMSSettings(iou: d.nms.iou, classAgnostic: d.nms.classAgnostic, maxDetections: d.nms.maxDetections,
                              containment: d.nms.containment.map(Float.init))
        settings = DetectionSettings(outputLayout: OutputLayoutChoice(rawValue: d.outputLayout.rawValue) ?? .auto,
                                     labels: LabelMode(rawValue: d.labels.rawValue) ?? .best,
                                     thresholds: ThresholdSettings(base: base, perClass: perClass),
                                     adaptive: adaptive, nms: nms)
        var filters: [String: BoxFilter] = [:]
        for c in d.classes where c.value.minArea != nil || c.value.maxArea != nil || c.value.minAspect != nil
            || c.value.maxAspect != nil {
            filters[c.name] = BoxFilter(minArea: c.value.minArea.map(Float.init), maxArea: c.value.maxArea.map(Float.init),
                                        minAspect: c.value.minAspect.map(Float.init),
                                        maxAspect: c.value.maxAspect.map(Float.init))
        }
        let lineRules = (camera.lineRules ?? d.lineRules).map { r -> LineRule in
            switch r.kind {
            case .consecutiveClass(let name, let frames):
                return LineRule(id: r.id, kind: .consecutiveClass, className: name, frames: frames)
            case .ngRate(let percent, let frames):
                return LineRule(id: r.id, kind: .ngRate, frames: frames, ngPercent: percent)
            }
        }
        let roi = RegionSettings(polygon: camera.roi.polygon.map { $0.map { [Float($0.x), Float($0.y)] } },
                                 masks: camera.roi.masks.map { $0.map { [Float($0.x), Float($0.y)] } })
        cameraRules = CameraRules(roi: roi, boxFilters: filters, lineRules: lineRules)
        self.classNames = classNames
        do {
            detector = try FrameDetector(outputShape: outputShape, classNames: classNames, settings: settings,
                                         camera: cameraRules, cameraKey: "cameras[\(index)]")
        } catch {
            throw DaemonError("camera \(camera.id): \(error)")
        }
    }

    /// A judge with these rules, continuing from `state` (adaptive thresholds survive reloads and restarts).
    func makeJudge(cameraID: String, state: ThresholdState?) throws -> CameraJudge {
        do {
            return try CameraJudge(cameraID: cameraID, classNames: detector.classNames, settings: settings,
                                   rules: cameraRules, state: state)
        } catch {
            throw DaemonError("camera \(cameraID): \(error)")
        }
    }
}
