/// A labelled box of the evaluation set.
public struct GroundTruthBox: Sendable, Codable, Equatable {
    /// Image the box belongs to.
    public var imageID: Int
    /// Class id.
    public var classID: Int
    /// Box in image pixels.
    public var box: Box
    /// Creates a ground-truth box.
    public init(imageID: Int, classID: Int, box: Box) { self.imageID = imageID; self.classID = classID; self.box = box }

    enum CodingKeys: String, CodingKey { case imageID = "image_id", classID = "class_id", box }
}

/// A detection to evaluate.
public struct ScoredBox: Sendable, Codable, Equatable {
    /// Image the detection was made on.
    public var imageID: Int
    /// Class id.
    public var classID: Int
    /// Confidence.
    public var score: Float
    /// Box in image pixels.
    public var box: Box
    /// Creates a detection.
    public init(imageID: Int, classID: Int, score: Float, box: Box) {
        self.imageID = imageID; self.classID = classID; self.score = score; self.box = box
    }

    enum CodingKeys: String, CodingKey { case imageID = "image_id", classID = "class_id", score, box }
}

/// Accuracy figures for one class.
public struct ClassAccuracy: Sendable, Codable, Equatable {
    /// Class id.
    public var classID: Int
    /// Labelled boxes of the class.
    public var groundTruths: Int
    /// Detections of the class that were evaluated (at most `maxDetections` per image).
    public var detections: Int
    /// AP at IoU 0.5 (nil when the class has no labelled box, as pycocotools leaves it out of the mean).
    public var ap50: Double?
    /// AP averaged over IoU 0.5:0.05:0.95.
    public var ap50_95: Double?
    /// Precision at the confidence threshold (IoU 0.5).
    public var precision: Double
    /// Recall at the confidence threshold (IoU 0.5).
    public var recall: Double
    /// F1 at the confidence threshold.
    public var f1: Double

    enum CodingKeys: String, CodingKey {
        case classID = "class_id", groundTruths = "ground_truths", detections, ap50, ap50_95, precision, recall, f1
    }
}

/// The result of an evaluation: what `inspectd eval` prints.
public struct EvaluationReport: Sendable, Codable, Equatable {
    /// COCO mAP at IoU 0.5 (101-point interpolation, maxDets 100, area 'all').
    public var map50: Double
    /// COCO mAP averaged over IoU 0.5:0.05:0.95.
    public var map50_95: Double
    /// Per class.
    public var perClass: [ClassAccuracy]
    /// Confidence threshold of the precision/recall/F1 figures (classes with their own threshold excepted).
    public var confidence: Float
    /// Precision over all classes at the confidence threshold (IoU 0.5).
    public var precision: Double
    /// Recall over all classes at the confidence threshold.
    public var recall: Double
    /// F1 over all classes at the confidence threshold.
    public var f1: Double

    enum CodingKeys: String, CodingKey {
        case map50, map50_95, perClass = "per_class", confidence, precision, recall, f1
    }
}

/// COCO-style detection accuracy, computed as pycocotools' `COCOeval` (bbox, all areas, no crowd, maxDets 100)
/// computes it, step for step:
/// - per image and class, detections sorted by score (stable) and cut to `maxDetections`; IoU in double on
///   `[x, y, w, h]` boxes as pycocotools' `bbIou`;
/// - greedy matching per IoU threshold: each detection takes the unmatched label with the highest IoU ≥ the
///   threshold (on equal IoU the later label);
/// - per class, all images' detections sorted by score (ties: image id, then rank in the image), cumulative
///   TP/FP, precision made monotone, sampled at 101 recall points by `searchsorted(side='left')`;
/// - mAP is the mean over classes that have at least one label.
public enum COCOEvaluator {
    /// Evaluates `detections` against `groundTruths` for classes `0..<classCount` on images `imageIDs`
    /// (nil: every image named by either list). Precision, recall and F1 are at IoU 0.5 and `confidence`, or
    /// per class at `classThresholds[classID]` when given (the daemon's configured thresholds).
    public static func evaluate(groundTruths: [GroundTruthBox], detections: [ScoredBox], classCount: Int,
                                imageIDs: [Int]? = nil, confidence: Float = 0.25, classThresholds: [Float]? = nil,
                                maxDetections: Int = 100) -> EvaluationReport {
        let images = (imageIDs ?? Array(Set(groundTruths.map(\.imageID) + detections.map(\.imageID)))).sorted()
        let imageRank = Dictionary(images.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let iouThresholds = linspace(0.5, 0.95, 10)
        let recallThresholds = linspace(0, 1, 101)

        // Group by class and image, keeping input order.
        var gtByKey: [Int: [[Box]]] = [:]
        var dtByKey: [Int: [[(score: Double, box: Box, order: Int)]]] = [:]
        for g in groundTruths where g.classID >= 0 && g.classID < classCount {
            guard let i = imageRank[g.imageID] else { continue }
            gtByKey[g.classID, default: Array(repeating: [], count: images.count)][i].append(g.box)
        }
        for (order, d) in detections.enumerated() where d.classID >= 0 && d.classID < classCount {
            guard let i = imageRank[d.imageID] else { continue }
            dtByKey[d.classID, default: Array(repeating: [], count: images.count)][i]
                .append((Double(d.score), d.box, order))
        }

        var perClass: [ClassAccuracy] = []
        var totalTP = 0, totalFP = 0, totalGT = 0
        var ap50s: [Double] = [], apAlls: [Double] = []
        for k in 0..<classCount {
            let gtImages = gtByKey[k] ?? Array(repeating: [], count: images.count)
            let dtImages = dtByKey[k] ?? Array(repeating: [], count: images.count)
            // Per detection kept: score, image rank, rank in image, matched per IoU threshold.
            var scores: [Double] = [], imageOf: [Int] = [], rankOf: [Int] = [], matched: [[Bool]] = []
            var labelCount = 0
            for i in images.indices {
                let gts = gtImages[i]
                labelCount += gts.count
                let dts = dtImages[i].sorted { $0.score != $1.score ? $0.score > $1.score : $0.order < $1.order }
                    .prefix(maxDetections)
                let ious = dts.map { d in gts.map { iou(d.box, $0) } }
                var gtTaken = Array(repeating: Array(repeating: false, count: gts.count), count: iouThresholds.count)
                for (rank, d) in dts.enumerated() {
                    var flags: [Bool] = []
                    for t in iouThresholds.indices {
                        var best = min(iouThresholds[t], 1 - 1e-10)
                        var m = -1
                        for g in gts.indices where !gtTaken[t][g] {
                            if ious[rank][g] < best { continue }
                            best = ious[rank][g]; m = g
                        }
                        if m >= 0 { gtTaken[t][m] = true }
                        flags.append(m >= 0)
                    }
                    scores.append(d.score); imageOf.append(i); rankOf.append(rank); matched.append(flags)
                }
            }
            let order = scores.indices.sorted { a, b in
                if scores[a] != scores[b] { return scores[a] > scores[b] }
                if imageOf[a] != imageOf[b] { return imageOf[a] < imageOf[b] }
                return rankOf[a] < rankOf[b]
            }
            var ap50: Double?, apAll: Double?
            if labelCount > 0 {
                var sumAll = 0.0
                for t in iouThresholds.indices {
                    let ap = averagePrecision(matches: order.map { matched[$0][t] }, labelCount: labelCount,
                                              recallThresholds: recallThresholds)
                    if t == 0 { ap50 = ap }
                    sumAll += ap
                }
                apAll = sumAll / Double(iouThresholds.count)
                ap50s.append(ap50 ?? 0); apAlls.append(apAll ?? 0)
            }
            var tp = 0, fp = 0
            let threshold = Double(classThresholds.flatMap { k < $0.count ? $0[k] : nil } ?? confidence)
            for j in scores.indices where scores[j] >= threshold { if matched[j][0] { tp += 1 } else { fp += 1 } }
            totalTP += tp; totalFP += fp; totalGT += labelCount
            let (p, r, f) = prf(tp: tp, fp: fp, labels: labelCount)
            perClass.append(ClassAccuracy(classID: k, groundTruths: labelCount, detections: scores.count, ap50: ap50,
                                          ap50_95: apAll, precision: p, recall: r, f1: f))
        }
        let (p, r, f) = prf(tp: totalTP, fp: totalFP, labels: totalGT)
        return EvaluationReport(map50: mean(ap50s), map50_95: mean(apAlls), perClass: perClass,
                                confidence: confidence, precision: p, recall: r, f1: f)
    }

    /// 101-point interpolated AP of one class at one IoU threshold, as `COCOeval.accumulate`.
    static func averagePrecision(matches: [Bool], labelCount: Int, recallThresholds: [Double]) -> Double {
        let nd = matches.count
        var recall = [Double](repeating: 0, count: nd), precision = [Double](repeating: 0, count: nd)
        var tp = 0.0, fp = 0.0
        for i in 0..<nd {
            if matches[i] { tp += 1 } else { fp += 1 }
            recall[i] = tp / Double(labelCount)
            precision[i] = tp / (fp + tp + Double.ulpOfOne)
        }
        if nd > 1 { for i in stride(from: nd - 1, to: 0, by: -1) where precision[i] > precision[i - 1] { precision[i - 1] = precision[i] } }
        var sum = 0.0
        var i = 0
        for threshold in recallThresholds {
            while i < nd && recall[i] < threshold { i += 1 }
            if i >= nd { break }
            sum += precision[i]
        }
        return sum / Double(recallThresholds.count)
    }

    /// pycocotools' `maskUtils.iou` for boxes: on `[x, y, w, h]` in double.
    static func iou(_ d: Box, _ g: Box) -> Double {
        let dx = Double(d.x1), dy = Double(d.y1), dw = Double(d.x2) - dx, dh = Double(d.y2) - dy
        let gx = Double(g.x1), gy = Double(g.y1), gw = Double(g.x2) - gx, gh = Double(g.y2) - gy
        let w = min(dw + dx, gw + gx) - max(dx, gx)
        if w <= 0 { return 0 }
        let h = min(dh + dy, gh + gy) - max(dy, gy)
        if h <= 0 { return 0 }
        let inter = w * h
        return inter / (dw * dh + gw * gh - inter)
    }

    /// numpy's `linspace` (same rounding: `i * step + start`, the last value exact).
    static func linspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        let step = (stop - start) / Double(count - 1)
        return (0..<count).map { $0 == count - 1 ? stop : Double($0) * step + start }
    }

    private static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? -1 : values.reduce(0, +) / Double(values.count)
    }

    private static func prf(tp: Int, fp: Int, labels: Int) -> (Double, Double, Double) {
        let p = tp + fp > 0 ? Double(tp) / Double(tp + fp) : 0
        let r = labels > 0 ? Double(tp) / Double(labels) : 0
        return (p, r, p + r > 0 ? 2 * p * r / (p + r) : 0)
    }
}
