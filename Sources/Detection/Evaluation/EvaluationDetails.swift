/// What lies behind the mAP figures of `COCOEvaluator`: per-class precision-recall curves and best-F1
/// thresholds, a confusion matrix, confidence histograms of true and false positives, and the worst misses
/// and false alarms — the material of `inspectd eval --report`.
///
/// True and false positives are those of `COCOEvaluator` at IoU 0.5: per image and class, detections sorted by
/// score (stable) and cut to `maxDetections`, each taking the unmatched same-class label with the highest IoU
/// ≥ 0.5 (on equal IoU the later label). So a curve's point at a confidence has the precision and recall
/// `COCOEvaluator.evaluate` reports at that confidence.
public struct EvaluationDetails: Sendable, Equatable {
    /// Precision and recall when detections scoring at least `confidence` are kept.
    public struct CurvePoint: Sendable, Equatable {
        /// Lowest score kept.
        public var confidence: Float
        /// True positives / kept detections.
        public var precision: Double
        /// True positives / labels.
        public var recall: Double
        /// Harmonic mean of precision and recall (0 when both are 0).
        public var f1: Double
    }

    /// One class's precision-recall curve.
    public struct ClassCurve: Sendable, Equatable {
        /// Class id.
        public var classID: Int
        /// Labelled boxes of the class.
        public var labels: Int
        /// One point per distinct detection score, from the highest score down (recall never decreases).
        public var points: [CurvePoint]
        /// The point of highest F1 (on a tie the higher confidence); nil when no detection is a true positive.
        public var best: CurvePoint?
    }

    /// Counts of true (rows) against predicted (columns) classes at the report confidence, from class-agnostic
    /// matching: row `classCount` is "background" (a detection that matched no label), column `classCount`
    /// is "missed" (a label no detection matched). `counts[classCount][classCount]` is always 0.
    public struct ConfusionMatrix: Sendable, Equatable {
        /// Number of classes (the matrix is `classCount + 1` square).
        public var classCount: Int
        /// `counts[trueClass][predictedClass]`.
        public var counts: [[Int]]
    }

    /// Scores of true and false positives in equal bins over [0, 1]; bin `i` holds scores in
    /// [i/n, (i+1)/n), the last bin also 1.
    public struct Histogram: Sendable, Equatable {
        /// True positives per bin.
        public var truePositives: [Int]
        /// False positives per bin.
        public var falsePositives: [Int]
    }

    /// A label that no same-class detection found at IoU ≥ 0.5 and the report confidence.
    public struct Miss: Sendable, Equatable {
        /// The label.
        public var label: GroundTruthBox
        /// The highest-scoring same-class detection overlapping it at IoU ≥ 0.5 (below the report confidence,
        /// or taken by another label), nil when there is none.
        public var bestSameClass: ScoredBox?
        /// The highest-scoring detection of another class at IoU ≥ 0.5 and the report confidence, if any:
        /// the defect was seen but called something else.
        public var otherClass: ScoredBox?
    }

    /// A detection at or above the report confidence that matched no label of its class.
    public struct FalseAlarm: Sendable, Equatable {
        /// The detection.
        public var detection: ScoredBox
        /// The label (of any class) it overlaps most in its image, if it overlaps one at all.
        public var nearestLabel: GroundTruthBox?
        /// IoU with `nearestLabel` (0 when there is none).
        public var iou: Double
    }

    /// Confidence the matrix, misses and false alarms are taken at.
    public var confidence: Float
    /// Per class `0..<classCount`.
    public var curves: [ClassCurve]
    /// Class-agnostic confusion at `confidence`.
    public var confusion: ConfusionMatrix
    /// Per class: confidence histogram of that class's evaluated detections.
    public var histograms: [Histogram]
    /// All classes together.
    public var overallHistogram: Histogram
    /// Worst misses first: no overlapping same-class detection at all, then by the best such score, ascending.
    public var misses: [Miss]
    /// All labels missed at `confidence` (`misses` may be cut to a limit).
    public var missCount: Int
    /// Highest-scoring false alarms first.
    public var falseAlarms: [FalseAlarm]
    /// All false alarms at `confidence` (`falseAlarms` may be cut to a limit).
    public var falseAlarmCount: Int

    /// Analyses the same inputs as `COCOEvaluator.evaluate` (images `imageIDs`, nil: every image named by
    /// either list). `limit` caps the misses and false alarms listed; `bins` is the histograms' bin count.
    public static func analyse(groundTruths: [GroundTruthBox], detections: [ScoredBox], classCount: Int,
                               imageIDs: [Int]? = nil, confidence: Float = 0.25, maxDetections: Int = 100,
                               bins: Int = 20, limit: Int = 24) -> EvaluationDetails {
        let images = Set(imageIDs ?? groundTruths.map(\.imageID) + detections.map(\.imageID))
        let binCount = max(1, bins)
        let gts = groundTruths.filter { $0.classID >= 0 && $0.classID < classCount && images.contains($0.imageID) }
        let dts = detections.enumerated().filter { $1.classID >= 0 && $1.classID < classCount && images.contains($1.imageID) }
        let imageOrder = images.sorted()
        let imageRank = Dictionary(uniqueKeysWithValues: imageOrder.enumerated().map { ($1, $0) })

        // Per image: its labels and its detections (with input order), for every step below.
        var gtIn: [Int: [Int]] = [:], dtIn: [Int: [Int]] = [:]
        for (g, box) in gts.enumerated() { gtIn[box.imageID, default: []].append(g) }
        for (n, d) in dts.enumerated() { dtIn[d.element.imageID, default: []].append(n) }

        // COCO matching at IoU 0.5, per image and class.
        struct Evaluated { var detection: Int; var image: Int; var rank: Int; var matched: Bool }
        var evaluated = Array(repeating: [Evaluated](), count: classCount)
        var foundAt = Array(repeating: -Float.infinity, count: gts.count)   // score of the detection matching a label
        for image in imageOrder {
            for k in 0..<classCount {
                let labels = (gtIn[image] ?? []).filter { gts[$0].classID == k }
                let ranked = (dtIn[image] ?? []).filter { dts[$0].element.classID == k }
                    .sorted { a, b in
                        let sa = dts[a].element.score, sb = dts[b].element.score
                        return sa != sb ? sa > sb : dts[a].offset < dts[b].offset
                    }.prefix(maxDetections)
                var taken = Array(repeating: false, count: labels.count)
                for (rank, d) in ranked.enumerated() {
                    let m = greedyMatch(dts[d].element.box, labels.map { gts[$0].box }, taken: taken)
                    if let m { taken[m] = true; foundAt[labels[m]] = dts[d].element.score }
                    evaluated[k].append(Evaluated(detection: d, image: imageRank[image]!, rank: rank, matched: m != nil))
                }
            }
        }

        // Curves and histograms, detections in COCO's accumulate order.
        var curves: [ClassCurve] = [], histograms: [Histogram] = []
        var overall = Histogram(truePositives: Array(repeating: 0, count: binCount),
                                falsePositives: Array(repeating: 0, count: binCount))
        var falseAlarmIndices: [Int] = []
        for k in 0..<classCount {
            let labelCount = gts.reduce(0) { $0 + ($1.classID == k ? 1 : 0) }
            let ordered = evaluated[k].sorted { a, b in
                let sa = dts[a.detection].element.score, sb = dts[b.detection].element.score
                if sa != sb { return sa > sb }
                return a.image != b.image ? a.image < b.image : a.rank < b.rank
            }
            var points: [CurvePoint] = []
            var tp = 0, fp = 0
            var histogram = Histogram(truePositives: Array(repeating: 0, count: binCount),
                                      falsePositives: Array(repeating: 0, count: binCount))
            for (n, e) in ordered.enumerated() {
                let score = dts[e.detection].element.score
                let bin = min(binCount - 1, max(0, Int(Double(score) * Double(binCount))))
                if e.matched { tp += 1; histogram.truePositives[bin] += 1 } else {
                    fp += 1; histogram.falsePositives[bin] += 1
                    if score >= confidence { falseAlarmIndices.append(e.detection) }
                }
                // A point once every detection of this score is in: thresholds keep scores ≥ t.
                if n + 1 == ordered.count || dts[ordered[n + 1].detection].element.score != score {
                    let p = Double(tp) / Double(tp + fp), r = labelCount > 0 ? Double(tp) / Double(labelCount) : 0
                    points.append(CurvePoint(confidence: score, precision: p, recall: r,
                                             f1: p + r > 0 ? 2 * p * r / (p + r) : 0))
                }
            }
            for i in 0..<binCount {
                overall.truePositives[i] += histogram.truePositives[i]
                overall.falsePositives[i] += histogram.falsePositives[i]
            }
            var best: CurvePoint?
            for p in points where p.f1 > 0 && p.f1 > (best?.f1 ?? 0) { best = p }
            curves.append(ClassCurve(classID: k, labels: labelCount, points: points, best: best))
            histograms.append(histogram)
        }

        // Misses: labels not matched by a detection at or above the confidence.
        var misses: [Miss] = []
        for (g, label) in gts.enumerated() where foundAt[g] < confidence {
            var same: ScoredBox?, other: ScoredBox?
            for d in dtIn[label.imageID] ?? [] {
                let det = dts[d].element
                guard COCOEvaluator.iou(det.box, label.box) >= 0.5 else { continue }
                if det.classID == label.classID {
                    if same == nil || det.score > same!.score { same = det }
                } else if det.score >= confidence, other == nil || det.score > other!.score {
                    other = det
                }
            }
            misses.append(Miss(label: label, bestSameClass: same, otherClass: other))
        }
        // Stable sort: equal cases stay in label order.
        misses = misses.enumerated().sorted { a, b in
            let sa = a.element.bestSameClass?.score ?? -1, sb = b.element.bestSameClass?.score ?? -1
            return sa != sb ? sa < sb : a.offset < b.offset
        }.map(\.element)

        let alarms = falseAlarmIndices.sorted { a, b in
            let sa = dts[a].element.score, sb = dts[b].element.score
            return sa != sb ? sa > sb : dts[a].offset < dts[b].offset
        }.prefix(max(0, limit)).map { d -> FalseAlarm in
            let det = dts[d].element
            var nearest: GroundTruthBox?, bestIoU = 0.0
            for g in gtIn[det.imageID] ?? [] {
                let v = COCOEvaluator.iou(det.box, gts[g].box)
                if v > bestIoU { bestIoU = v; nearest = gts[g] }
            }
            return FalseAlarm(detection: det, nearestLabel: nearest, iou: bestIoU)
        }

        return EvaluationDetails(
            confidence: confidence, curves: curves,
            confusion: confusionMatrix(gts: gts, gtIn: gtIn, dts: dts.map { $0.element }, dtIn: dtIn,
                                       imageOrder: imageOrder, classCount: classCount, confidence: confidence),
            histograms: histograms, overallHistogram: overall,
            misses: Array(misses.prefix(max(0, limit))), missCount: misses.count,
            falseAlarms: Array(alarms), falseAlarmCount: falseAlarmIndices.count)
    }

    /// COCO's greedy step: the untaken label with the highest IoU ≥ 0.5, the later one on a tie; nil if none.
    static func greedyMatch(_ box: Box, _ labels: [Box], taken: [Bool]) -> Int? {
        var best = 0.5, m: Int?
        for g in labels.indices where !taken[g] {
            let v = COCOEvaluator.iou(box, labels[g])
            if v < best { continue }
            best = v; m = g
        }
        return m
    }

    /// Class-agnostic matching per image of the detections at or above `confidence`, highest score first.
    private static func confusionMatrix(gts: [GroundTruthBox], gtIn: [Int: [Int]], dts: [ScoredBox], dtIn: [Int: [Int]],
                                        imageOrder: [Int], classCount: Int, confidence: Float) -> ConfusionMatrix {
        var counts = Array(repeating: Array(repeating: 0, count: classCount + 1), count: classCount + 1)
        for image in imageOrder {
            let labels = gtIn[image] ?? []
            let kept = (dtIn[image] ?? []).filter { dts[$0].score >= confidence }
                .sorted { dts[$0].score != dts[$1].score ? dts[$0].score > dts[$1].score : $0 < $1 }
            var taken = Array(repeating: false, count: labels.count)
            for d in kept {
                if let m = greedyMatch(dts[d].box, labels.map { gts[$0].box }, taken: taken) {
                    taken[m] = true
                    counts[gts[labels[m]].classID][dts[d].classID] += 1
                } else {
                    counts[classCount][dts[d].classID] += 1
                }
            }
            for (i, g) in labels.enumerated() where !taken[i] { counts[gts[g].classID][classCount] += 1 }
        }
        return ConfusionMatrix(classCount: classCount, counts: counts)
    }
}
