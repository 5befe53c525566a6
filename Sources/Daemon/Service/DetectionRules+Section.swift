import Detection

/// The rules of the `detection` section alone, as for a camera with no overrides, no ROI and no masks: what
/// `POST /api/v1/detect` applies without `camera=`, and the worker pool's default when there is no camera.
extension DetectionRules {
    static func detectionSection(_ config: InspectdConfig, outputShape: [Int], classNames: [String]) throws -> DetectionRules {
        let camera = CameraConfig(id: "detection", source: .replay(.init(files: .path(""), fps: 0, loop: false)),
                                  queueSize: 1, overload: .dropOldest, roi: RegionSettings(),
                                  thresholds: .init(confidence: nil, classes: []), lineRules: nil, reference: nil)
        return try DetectionRules(config: config, camera: camera, index: 0, outputShape: outputShape, classNames: classNames)
    }
}
