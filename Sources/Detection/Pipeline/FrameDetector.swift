/// The stateless per-frame stage: decode the model output, drop candidates below the pre-filter, NMS, map to
/// source pixels, apply the camera's ROI, masks and box filters, then containment and the per-frame cap.
///
/// `Sendable` and immutable: N inference workers call `detect` concurrently, each with its own
/// `DetectionScratch`. Thresholds in force are applied later, in frame order, by `CameraJudge`.
public struct FrameDetector: Sendable {
    /// Class names by class id (the model's metadata; `0`, `1`, … when it has none).
    public let classNames: [String]
    /// The layout of the model output this detector decodes.
    public let layout: OutputLayout
    /// The settings it was built from.
    public let settings: DetectionSettings
    /// The camera's ROI and box filters (nil: none).
    public let region: RegionFilter?
    /// Lowest score kept per class while decoding (see `DetectionSettings.preFilterThresholds`).
    public let preFilter: [Float]

    /// Builds a detector for a model output of `outputShape` with `classNames` (may be empty), validating
    /// `settings` and `camera` (keys under `cameraKey`). Throws `SettingsError` or `OutputError`.
    public init(outputShape: [Int], classNames: [String], settings: DetectionSettings,
                camera: CameraRules? = nil, cameraKey: String = "cameras[0]") throws {
        let layout = try OutputLayout.resolve(shape: outputShape, classCount: classNames.isEmpty ? nil : classNames.count,
                                              choice: settings.outputLayout)
        let names = classNames.isEmpty ? (0..<layout.classCount).map { String($0) } : classNames
        let problems = settings.validate(classNames: names)
        if !problems.isEmpty { throw SettingsError(problems: problems) }
        self.layout = layout
        self.classNames = names
        self.settings = settings
        if let camera {
            let region = try RegionFilter(rules: camera, classNames: names, prefix: cameraKey)
            self.region = region.isEmpty ? nil : region
        } else {
            self.region = nil
        }
        self.preFilter = settings.preFilterThresholds(classNames: names)
    }

    /// A scratch object for one worker.
    public func makeScratch() -> DetectionScratch { DetectionScratch() }

    /// Candidates of one frame, by descending score (ties by model box order), at most
    /// `settings.nms.maxDetections`. `output` is the model's output tensor as floats.
    public func detect(output: UnsafeBufferPointer<Float>, mapping: SourceMapping,
                       scratch: DetectionScratch) throws(OutputError) -> [Candidate] {
        guard output.count == layout.elementCount else {
            throw OutputError("output holds \(output.count) values, the \(layout.family.rawValue) layout "
                + "[\(layout.classCount) classes × \(layout.boxCount) boxes] needs \(layout.elementCount)")
        }
        YOLODecoder(layout: layout, labels: settings.labels, preFilter: preFilter).decode(output, into: scratch)
        NonMaxSuppression.run(scratch, iouThreshold: settings.nms.iou, classAgnostic: settings.nms.classAgnostic)
        return collect(scratch: scratch, mapping: mapping)
    }

    private func collect(scratch: DetectionScratch, mapping: SourceMapping) -> [Candidate] {
        let limit = settings.nms.maxDetections
        var result: [Candidate] = []
        result.reserveCapacity(min(scratch.kept.count, limit))
        let width = Float(mapping.sourceWidth), height = Float(mapping.sourceHeight)
        let scale = mapping.scale > 0 ? mapping.scale : 1
        for k in scratch.kept {
            if result.count >= limit { break }
            let c = scratch.candidates[Int(k)]
            let box = Box(x1: min(max((c.x1 - mapping.padX) / scale, 0), width),
                          y1: min(max((c.y1 - mapping.padY) / scale, 0), height),
                          x2: min(max((c.x2 - mapping.padX) / scale, 0), width),
                          y2: min(max((c.y2 - mapping.padY) / scale, 0), height))
            let classID = Int(c.classID)
            if let region, !region.accepts(box, classID: classID) { continue }
            if let ratio = settings.nms.containment, isContained(box, classID: classID, in: result, ratio: ratio) {
                continue
            }
            result.append(Candidate(classID: classID, score: c.score, box: box))
        }
        return result
    }

    /// True when `box` lies at least `ratio` inside a kept (higher-scoring) box of the same class.
    private func isContained(_ box: Box, classID: Int, in kept: [Candidate], ratio: Float) -> Bool {
        let area = box.area
        guard area > 0 else { return false }
        for other in kept where other.classID == classID {
            let w = max(0, min(box.x2, other.box.x2) - max(box.x1, other.box.x1))
            let h = max(0, min(box.y2, other.box.y2) - max(box.y1, other.box.y1))
            if w * h >= ratio * area { return true }
        }
        return false
    }
}
