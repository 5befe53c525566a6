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
        // The config holds Detection's own settings; a camera only overrides confidences and brings its ROI and
        // line rules.
        var settings = config.detection.settings
        for c in camera.thresholds.classes { settings.thresholds.perClass[c.name] = Float(c.value) }
        if let confidence = camera.thresholds.confidence { settings.thresholds.base = Float(confidence) }
        self.settings = settings
        cameraRules = CameraRules(roi: camera.roi, boxFilters: config.detection.boxFilters,
                                  lineRules: (camera.lineRules ?? config.detection.lineRules).map(\.value))
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
