/// Decodes a YOLO output tensor into candidates above per-class pre-filter thresholds, in one pass over the
/// tensor, into the scratch's candidate buffer (model-input pixels, corners).
struct YOLODecoder {
    let layout: OutputLayout
    let labels: LabelMode
    /// Per-class lowest score kept (scores ≥ this pass).
    let preFilter: [Float]

    func decode(_ p: UnsafeBufferPointer<Float>, into scratch: DetectionScratch) {
        scratch.prepare(boxCount: layout.boxCount)
        guard let base = p.baseAddress, layout.classCount > 0 else { return }
        // Appends go to a local array (swapped out of the scratch, not copied) to avoid per-append
        // exclusivity checks on the class property.
        var out = scratch.candidates
        scratch.candidates = []
        defer { scratch.candidates = out }
        switch (layout.family, labels) {
        case (.ultralytics, .best): decodeUltralyticsBest(base, scratch, &out)
        case (.ultralytics, .all): decodeUltralyticsAll(base, &out)
        case (.yolov5, _): decodeYOLOv5(base, &out)
        }
    }

    private func corners(cx: Float, cy: Float, w: Float, h: Float, score: Float, classID: Int) -> RawCandidate {
        // Same arithmetic as Ultralytics' xywh2xyxy.
        let dw = w / 2, dh = h / 2
        return RawCandidate(x1: cx - dw, y1: cy - dh, x2: cx + dw, y2: cy + dh, score: score, classID: Int32(classID))
    }

    /// Class rows are contiguous in this layout, so the arg-max runs row by row over the whole box axis
    /// (sequential reads) before a single pass picks the boxes above their class's pre-filter.
    private func decodeUltralyticsBest(_ p: UnsafePointer<Float>, _ scratch: DetectionScratch, _ out: inout [RawCandidate]) {
        let n = layout.boxCount, nc = layout.classCount
        let lowest = preFilter.min() ?? 0
        scratch.bestScore.withUnsafeMutableBufferPointer { best in
            scratch.bestClass.withUnsafeMutableBufferPointer { cls in
                let row0 = p + 4 * n
                for i in 0..<n { best[i] = row0[i]; cls[i] = 0 }
                for c in 1..<max(nc, 1) {
                    let row = p + (4 + c) * n
                    let cc = Int32(c)
                    for i in 0..<n where row[i] > best[i] { best[i] = row[i]; cls[i] = cc }
                }
                preFilter.withUnsafeBufferPointer { pre in
                    for i in 0..<n {
                        let s = best[i]
                        if s < lowest { continue }
                        let c = Int(cls[i])
                        if s < pre[c] { continue }
                        out.append(corners(cx: p[i], cy: p[n + i], w: p[2 * n + i], h: p[3 * n + i],
                                                          score: s, classID: c))
                    }
                }
            }
        }
    }

    /// One candidate per box and class above the pre-filter, box-major like Ultralytics' multi-label NMS.
    private func decodeUltralyticsAll(_ p: UnsafePointer<Float>, _ out: inout [RawCandidate]) {
        let n = layout.boxCount, nc = layout.classCount
        for i in 0..<n {
            for c in 0..<nc {
                let s = p[(4 + c) * n + i]
                if s >= preFilter[c] {
                    out.append(corners(cx: p[i], cy: p[n + i], w: p[2 * n + i], h: p[3 * n + i],
                                                      score: s, classID: c))
                }
            }
        }
    }

    /// Score = objectness × class score, as YOLOv5's own NMS computes it (in float).
    private func decodeYOLOv5(_ p: UnsafePointer<Float>, _ out: inout [RawCandidate]) {
        let n = layout.boxCount, nc = layout.classCount, stride = 5 + nc
        let lowest = preFilter.min() ?? 0
        for i in 0..<n {
            let r = p + i * stride
            let objectness = r[4]
            // Class scores are ≤ 1, so a box whose objectness is below every pre-filter cannot pass.
            if objectness < lowest { continue }
            if labels == .all {
                for c in 0..<nc {
                    let s = r[5 + c] * objectness
                    if s >= preFilter[c] {
                        out.append(corners(cx: r[0], cy: r[1], w: r[2], h: r[3], score: s, classID: c))
                    }
                }
            } else {
                var best = r[5] * objectness, bestClass = 0
                for c in 1..<max(nc, 1) {
                    let s = r[5 + c] * objectness
                    if s > best { best = s; bestClass = c }
                }
                if best >= preFilter[bestClass] {
                    out.append(corners(cx: r[0], cy: r[1], w: r[2], h: r[3], score: best, classID: bestClass))
                }
            }
        }
    }
}
