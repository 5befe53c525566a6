import XCTest
@testable import Detection

/// A `size`-square box at (`x`, `y`).
private func square(_ x: Float, _ y: Float, _ size: Float = 10) -> Box { Box(x1: x, y1: y, x2: x + size, y2: y + size) }

/// `EvaluationDetails` on a case small enough to work out by hand, and in agreement with `COCOEvaluator`'s
/// precision and recall on random cases.
final class EvaluationDetailsTests: XCTestCase {
    // One image, two classes. Labels: g0 open at (0,0), g1 open at (20,0), g2 short at (40,0).
    static let labels = [
        GroundTruthBox(imageID: 7, classID: 0, box: square(0, 0)),
        GroundTruthBox(imageID: 7, classID: 0, box: square(20, 0)),
        GroundTruthBox(imageID: 7, classID: 1, box: square(40, 0)),
    ]
    static let detections = [
        ScoredBox(imageID: 7, classID: 0, score: 0.95, box: square(0, 0)),      // d0: finds g0
        ScoredBox(imageID: 7, classID: 0, score: 0.85, box: square(0, 0)),      // d1: duplicate of g0
        ScoredBox(imageID: 7, classID: 0, score: 0.35, box: square(20, 0)),     // d2: finds g1, below 0.5
        ScoredBox(imageID: 7, classID: 0, score: 0.15, box: square(100, 100)),  // d3: nowhere
        ScoredBox(imageID: 7, classID: 1, score: 0.65, box: square(20, 0)),     // d4: short on the open g1
        ScoredBox(imageID: 7, classID: 0, score: 0.75, box: square(40, 0)),     // d5: open on the short g2
        ScoredBox(imageID: 8, classID: 0, score: 0.99, box: square(0, 0)),      // not an evaluated image
    ]

    var labels: [GroundTruthBox] { Self.labels }
    var detections: [ScoredBox] { Self.detections }

    func testHandWorkedCurvesAndBestF1() {
        let d = EvaluationDetails.analyse(groundTruths: labels, detections: detections, classCount: 2, imageIDs: [7],
                                          confidence: 0.25, bins: 10)
        // Class 0 in score order: TP, FP, FP, TP, FP against 2 labels.
        let open = d.curves[0]
        XCTAssertEqual(open.labels, 2)
        XCTAssertEqual(open.points.map(\.confidence), [0.95, 0.85, 0.75, 0.35, 0.15])
        let expected: [(p: Double, r: Double)] = [(1, 0.5), (0.5, 0.5), (1.0 / 3, 0.5), (0.5, 1), (0.4, 1)]
        for (got, want) in zip(open.points, expected) {
            XCTAssertEqual(got.precision, want.p, accuracy: 1e-12)
            XCTAssertEqual(got.recall, want.r, accuracy: 1e-12)
            XCTAssertEqual(got.f1, 2 * want.p * want.r / (want.p + want.r), accuracy: 1e-12)
        }
        // F1 2/3 at 0.95 and at 0.35: the higher confidence wins the tie.
        XCTAssertEqual(open.best?.confidence, 0.95)
        XCTAssertEqual(open.best?.f1 ?? 0, 2.0 / 3, accuracy: 1e-12)
        // Class 1: its only detection is a false positive: no best threshold.
        XCTAssertEqual(d.curves[1].labels, 1)
        XCTAssertEqual(d.curves[1].points.map(\.precision), [0])
        XCTAssertNil(d.curves[1].best)
    }

    func testBestF1PrefersTheHigherF1OverTheHigherConfidence() {
        // TP 0.9, FP 0.8, TP 0.7, TP 0.6 on 3 labels: F1 0.5, 0.4, 0.857, 1 -> best at 0.6.
        let g = (0..<3).map { GroundTruthBox(imageID: 0, classID: 0, box: square(Float($0) * 20, 0)) }
        let dt = [ScoredBox(imageID: 0, classID: 0, score: 0.9, box: square(0, 0)),
                  ScoredBox(imageID: 0, classID: 0, score: 0.8, box: square(0, 50)),
                  ScoredBox(imageID: 0, classID: 0, score: 0.7, box: square(20, 0)),
                  ScoredBox(imageID: 0, classID: 0, score: 0.6, box: square(40, 0)),
    ]
        let best = EvaluationDetails.analyse(groundTruths: g, detections: dt, classCount: 1).curves[0].best
        XCTAssertEqual(best?.confidence, 0.6)
        XCTAssertEqual(best?.precision ?? 0, 0.75, accuracy: 1e-12)
        XCTAssertEqual(best?.recall ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(best?.f1 ?? 0, 6.0 / 7, accuracy: 1e-12)
    }

    func testHandWorkedConfusionMatrix() {
        let d = EvaluationDetails.analyse(groundTruths: labels, detections: detections, classCount: 2, imageIDs: [7],
                                          confidence: 0.25)
        // Class-agnostic, highest score first, at 0.25: d0 takes g0 (open/open), d1 finds nothing left
        // (background/open), d5 takes g2 (short/open), d4 takes g1 (open/short), so d2 is left over
        // (background/open). No label is missed.
        XCTAssertEqual(d.confusion.classCount, 2)
        XCTAssertEqual(d.confusion.counts, [[1, 1, 0],
                                            [1, 0, 0],
                                            [2, 0, 0]])
        // At 0.7, d4 and d2 are gone: g1 is missed.
        let high = EvaluationDetails.analyse(groundTruths: labels, detections: detections, classCount: 2, imageIDs: [7],
                                             confidence: 0.7)
        XCTAssertEqual(high.confusion.counts, [[1, 0, 1],
                                               [1, 0, 0],
                                               [1, 0, 0]])
    }

    func testHandWorkedHistograms() {
        let d = EvaluationDetails.analyse(groundTruths: labels, detections: detections, classCount: 2, imageIDs: [7],
                                          bins: 10)
        XCTAssertEqual(d.histograms[0].truePositives, [0, 0, 0, 1, 0, 0, 0, 0, 0, 1])   // 0.35, 0.95
        XCTAssertEqual(d.histograms[0].falsePositives, [0, 1, 0, 0, 0, 0, 0, 1, 1, 0])  // 0.15, 0.75, 0.85
        XCTAssertEqual(d.histograms[1].truePositives, Array(repeating: 0, count: 10))
        XCTAssertEqual(d.histograms[1].falsePositives, [0, 0, 0, 0, 0, 0, 1, 0, 0, 0])  // 0.65
        XCTAssertEqual(d.overallHistogram.truePositives, [0, 0, 0, 1, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(d.overallHistogram.falsePositives, [0, 1, 0, 0, 0, 0, 1, 1, 1, 0])
        // A score of exactly 1 goes in the last bin.
        let one = EvaluationDetails.analyse(groundTruths: [], detections: [ScoredBox(imageID: 0, classID: 0, score: 1, box: square(0, 0))],
                                            classCount: 1, bins: 4)
        XCTAssertEqual(one.overallHistogram.falsePositives, [0, 0, 0, 1])
    }

    func testHandWorkedMissesAndFalseAlarms() {
        let d = EvaluationDetails.analyse(groundTruths: labels, detections: detections, classCount: 2, imageIDs: [7],
                                          confidence: 0.5)
        // g1's open detection scored 0.35 < 0.5; g2 has no short detection at all, so it comes first.
        XCTAssertEqual(d.missCount, 2)
        XCTAssertEqual(d.misses.map(\.label), [labels[2], labels[1]])
        XCTAssertNil(d.misses[0].bestSameClass)
        XCTAssertEqual(d.misses[0].otherClass, detections[5], "seen as open at 0.75")
        XCTAssertEqual(d.misses[1].bestSameClass, detections[2])
        XCTAssertEqual(d.misses[1].otherClass, detections[4], "seen as short at 0.65")
        // Unmatched at or above 0.5, highest first: d1 (0.85), d5 (0.75), d4 (0.65).
        XCTAssertEqual(d.falseAlarmCount, 3)
        XCTAssertEqual(d.falseAlarms.map(\.detection), [detections[1], detections[5], detections[4]])
        XCTAssertEqual(d.falseAlarms.map(\.nearestLabel), [labels[0], labels[2], labels[1]])
        XCTAssertEqual(d.falseAlarms.map(\.iou), [1, 1, 1])
        // The limit cuts the lists, not the counts.
        let cut = EvaluationDetails.analyse(groundTruths: labels, detections: detections, classCount: 2, imageIDs: [7],
                                            confidence: 0.5, limit: 1)
        XCTAssertEqual(cut.misses.map(\.label), [labels[2]])
        XCTAssertEqual(cut.falseAlarms.map(\.detection), [detections[1]])
        XCTAssertEqual([cut.missCount, cut.falseAlarmCount], [2, 3])
    }

    /// Random cases: each curve point has the precision and recall `COCOEvaluator` reports at its confidence
    /// (same matching, same per-image cap), and the confusion matrix accounts for every label and kept detection.
    func testAgreesWithCOCOEvaluatorOnRandomCases() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(seed >> 40) / Float(1 << 24)
        }
        for trial in 0..<20 {
            var g: [GroundTruthBox] = [], dt: [ScoredBox] = []
            for image in 0..<4 {
                for _ in 0..<Int(next() * 6) {
                    let b = Box(x1: next() * 80, y1: next() * 80, x2: 0, y2: 0)
                    let s = 8 + next() * 20
                    g.append(GroundTruthBox(imageID: image, classID: Int(next() * 3), box: Box(x1: b.x1, y1: b.y1, x2: b.x1 + s, y2: b.y1 + s)))
                }
                for _ in 0..<Int(next() * 10) {
                    // Half near a label (jittered, class sometimes wrong), half anywhere.
                    let score = (next() * 20).rounded() / 20   // ties on purpose
                    let here = g.filter { $0.imageID == image }
                    if !here.isEmpty, next() < 0.5 {
                        let t = here[min(here.count - 1, Int(next() * Float(here.count)))]
                        let j = { (next() - 0.5) * 6 }
                        dt.append(ScoredBox(imageID: image, classID: next() < 0.8 ? t.classID : Int(next() * 3), score: score,
                                            box: Box(x1: t.box.x1 + j(), y1: t.box.y1 + j(), x2: t.box.x2 + j(), y2: t.box.y2 + j())))
                    } else {
                        let x = next() * 80, y = next() * 80
                        dt.append(ScoredBox(imageID: image, classID: Int(next() * 3), score: score, box: Box(x1: x, y1: y, x2: x + 15, y2: y + 15)))
                    }
                }
            }
            let d = EvaluationDetails.analyse(groundTruths: g, detections: dt, classCount: 3, imageIDs: [0, 1, 2, 3],
                                              confidence: 0.5, maxDetections: 3)
            for curve in d.curves {
                for p in curve.points {
                    let r = COCOEvaluator.evaluate(groundTruths: g, detections: dt, classCount: 3, imageIDs: [0, 1, 2, 3],
                                                   confidence: p.confidence, maxDetections: 3).perClass[curve.classID]
                    XCTAssertEqual(p.precision, r.precision, accuracy: 1e-12, "trial \(trial) class \(curve.classID) at \(p.confidence)")
                    XCTAssertEqual(p.recall, r.recall, accuracy: 1e-12, "trial \(trial) class \(curve.classID) at \(p.confidence)")
                }
                XCTAssertEqual(curve.labels, g.filter { $0.classID == curve.classID }.count)
            }
            for k in 0..<3 {
                XCTAssertEqual(d.confusion.counts[k].reduce(0, +), g.filter { $0.classID == k }.count, "row \(k) holds every label")
                XCTAssertEqual(d.confusion.counts.map { $0[k] }.reduce(0, +), dt.filter { $0.classID == k && $0.score >= 0.5 }.count,
                               "column \(k) holds every kept detection")
            }
            // The histograms hold every evaluated detection: at most 3 per image and class.
            let tp = d.overallHistogram.truePositives.reduce(0, +), fp = d.overallHistogram.falsePositives.reduce(0, +)
            var evaluated = 0
            for image in 0..<4 { for k in 0..<3 { evaluated += min(3, dt.filter { $0.imageID == image && $0.classID == k }.count) } }
            XCTAssertEqual(tp + fp, evaluated, "trial \(trial)")
        }
    }
}
