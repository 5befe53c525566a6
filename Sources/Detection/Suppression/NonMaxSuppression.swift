/// Greedy non-maximum suppression with torchvision semantics.
///
/// Class-aware mode equals `torchvision.ops.batched_nms`; class-agnostic equals `torchvision.ops.nms`.
/// Same arithmetic as torchvision's CPU kernel: float areas `(x2-x1)*(y2-y1)`, intersection clamped at 0,
/// `iou = inter / (area_i + area_j - inter)` in float, a box suppressed when `iou > threshold` (compared in
/// double). Ties in score are broken by candidate index (lower first), which is what torchvision's stable
/// sort does; the kept indices are returned by descending score, then ascending index.
public enum NonMaxSuppression {
    /// Indices of the kept boxes, by descending score then ascending index.
    /// `classIDs` is ignored when `classAgnostic` is true.
    public static func keep(boxes: [Box], scores: [Float], classIDs: [Int], iouThreshold: Double,
                            classAgnostic: Bool = false) -> [Int] {
        let scratch = DetectionScratch()
        scratch.candidates = boxes.indices.map { i in
            RawCandidate(x1: boxes[i].x1, y1: boxes[i].y1, x2: boxes[i].x2, y2: boxes[i].y2, score: scores[i],
                         classID: classAgnostic ? 0 : Int32(clamping: classIDs[i]))
        }
        run(scratch, iouThreshold: iouThreshold, classAgnostic: classAgnostic)
        return scratch.kept.map(Int.init)
    }

    /// Runs NMS over `scratch.candidates`, leaving kept indices in `scratch.kept` (score desc, index asc).
    static func run(_ scratch: DetectionScratch, iouThreshold: Double, classAgnostic: Bool) {
        // Work on local arrays (swapped out, not copied): no exclusivity checks on class properties in the loops.
        var order = scratch.order, suppressed = scratch.suppressed, kept = scratch.kept
        scratch.order = []; scratch.suppressed = []; scratch.kept = []
        defer { scratch.order = order; scratch.suppressed = suppressed; scratch.kept = kept }
        order.removeAll(keepingCapacity: true)
        suppressed.removeAll(keepingCapacity: true)
        kept.removeAll(keepingCapacity: true)
        let count = scratch.candidates.count
        guard count > 0 else { return }
        for i in 0..<count { order.append(Int32(i)) }
        suppressed.append(contentsOf: repeatElement(false, count: count))
        scratch.candidates.withUnsafeBufferPointer { cand in
            order.withUnsafeMutableBufferPointer { order in
                // Grouping by class keeps the inner loop within one class; within a class the order is
                // torchvision's (score descending, stable).
                if classAgnostic {
                    order.sort { a, b in
                        let sa = cand[Int(a)].score, sb = cand[Int(b)].score
                        return sa != sb ? sa > sb : a < b
                    }
                } else {
                    order.sort { a, b in
                        let ca = cand[Int(a)].classID, cb = cand[Int(b)].classID
                        if ca != cb { return ca < cb }
                        let sa = cand[Int(a)].score, sb = cand[Int(b)].score
                        return sa != sb ? sa > sb : a < b
                    }
                }
                suppressed.withUnsafeMutableBufferPointer { suppressed in
                    var groupStart = 0
                    while groupStart < count {
                        var groupEnd = groupStart + 1
                        if !classAgnostic {
                            let cls = cand[Int(order[groupStart])].classID
                            while groupEnd < count && cand[Int(order[groupEnd])].classID == cls { groupEnd += 1 }
                        } else {
                            groupEnd = count
                        }
                        for ii in groupStart..<groupEnd {
                            let i = Int(order[ii])
                            if suppressed[i] { continue }
                            kept.append(Int32(i))
                            let bi = cand[i]
                            let areaI = bi.area
                            for jj in (ii + 1)..<groupEnd {
                                let j = Int(order[jj])
                                if suppressed[j] { continue }
                                let bj = cand[j]
                                let w = max(0, min(bi.x2, bj.x2) - max(bi.x1, bj.x1))
                                let h = max(0, min(bi.y2, bj.y2) - max(bi.y1, bj.y1))
                                let inter = w * h
                                let iou = inter / (areaI + bj.area - inter)
                                if Double(iou) > iouThreshold { suppressed[j] = true }
                            }
                        }
                        groupStart = groupEnd
                    }
                }
            }
            if !classAgnostic {
                kept.withUnsafeMutableBufferPointer { kept in
                    kept.sort { a, b in
                        let sa = cand[Int(a)].score, sb = cand[Int(b)].score
                        return sa != sb ? sa > sb : a < b
                    }
                }
            }
        }
    }
}
