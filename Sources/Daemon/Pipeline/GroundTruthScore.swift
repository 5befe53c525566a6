import Capture
import Detection
import Foundation

/// How well inspections found the defects a synthetic source injected: counts for one frame, or running
/// totals when added up.
///
/// Matching rule: defects are taken by descending confidence; each one matches the still-unmatched injected
/// defect it overlaps most, provided their IoU (intersection over union of the boxes, in source pixels) is at
/// least `minIoU` (0.3). A match counts as *found* whatever the class, and also as *found with the right class*
/// when the class ids agree. A defect that matches nothing is a *false alarm*.
public struct GroundTruthScore: Sendable, Equatable {
    /// The IoU a defect needs with an injected defect to count as finding it.
    public static let minIoU: Float = 0.3

    /// Defects the source injected.
    public var injected = 0
    /// Injected defects that a defect matched.
    public var found = 0
    /// Of those, matched by a defect of the same class.
    public var foundRightClass = 0
    /// Defects that matched no injected defect.
    public var falseAlarms = 0
    /// Defects reported.
    public var detections = 0
    /// Parts (frames) seen, and of those the defective ones (at least one injected defect).
    public var parts = 0, defectiveParts = 0
    /// Good parts judged NG (false rejects) and defective parts judged OK (escapes).
    public var falseRejects = 0, escapes = 0

    /// Zero counts.
    public init() {}

    /// Scores one frame's defects against what was injected into it (the rule is in the type's comment).
    public init(defects: [Defect], truth: [GroundTruthDefect], minIoU: Float = GroundTruthScore.minIoU) {
        injected = truth.count
        detections = defects.count
        parts = 1
        defectiveParts = truth.isEmpty ? 0 : 1
        falseRejects = truth.isEmpty && !defects.isEmpty ? 1 : 0
        escapes = !truth.isEmpty && defects.isEmpty ? 1 : 0
        var taken = [Bool](repeating: false, count: truth.count)
        for d in defects.sorted(by: { $0.confidence > $1.confidence }) {
            var best = -1
            var bestIoU = minIoU
            for (i, t) in truth.enumerated() where !taken[i] {
                let iou = Self.iou(d.box, Box(x1: t.x1, y1: t.y1, x2: t.x2, y2: t.y2))
                if iou >= bestIoU { best = i; bestIoU = iou }
            }
            if best < 0 {
                falseAlarms += 1
            } else {
                taken[best] = true
                found += 1
                if truth[best].classID == d.classID { foundRightClass += 1 }
            }
        }
    }

    /// Adds another frame's (or interval's) counts.
    public static func += (a: inout GroundTruthScore, b: GroundTruthScore) {
        a.injected += b.injected; a.found += b.found; a.foundRightClass += b.foundRightClass
        a.falseAlarms += b.falseAlarms; a.detections += b.detections
        a.parts += b.parts; a.defectiveParts += b.defectiveParts; a.falseRejects += b.falseRejects; a.escapes += b.escapes
    }

    /// Intersection over union of two boxes (0 when either is empty).
    static func iou(_ a: Box, _ b: Box) -> Float {
        let iw = min(a.x2, b.x2) - max(a.x1, b.x1), ih = min(a.y2, b.y2) - max(a.y1, b.y1)
        guard iw > 0, ih > 0 else { return 0 }
        let inter = iw * ih
        let union = a.area + b.area - inter
        return union > 0 ? inter / union : 0
    }

    /// Found injected defects, percent of injected.
    public var foundPercent: Double { injected == 0 ? 0 : 100 * Double(found) / Double(injected) }
    /// False alarms, percent of detections.
    public var falseAlarmPercent: Double { detections == 0 ? 0 : 100 * Double(falseAlarms) / Double(detections) }

    /// One line for the log, e.g. `120 parts, 30 defective: 1 good part judged NG, 0 defective parts judged OK;
    /// found 101/104 injected defects (97.1%), 99 with the right class; 2 of 103 detections were false alarms
    /// (1.9%)`.
    public var summary: String {
        String(format: "%d parts, %d defective: %d good part%@ judged NG, %d defective part%@ judged OK; "
                   + "found %d/%d injected defects (%.1f%%), %d with the right class; "
                   + "%d of %d detections were false alarms (%.1f%%)",
               parts, defectiveParts, falseRejects, falseRejects == 1 ? "" : "s", escapes, escapes == 1 ? "" : "s",
               found, injected, foundPercent, foundRightClass, falseAlarms, detections, falseAlarmPercent)
    }
}
