import Detection
import Foundation
import Imaging

/// `inspectd eval --report DIR`: the evaluation as pictures a plant engineer can open in a browser on an
/// air-gapped network — `index.html` linking SVG charts (precision-recall curves, confusion matrix, confidence
/// histograms) and PNG crops of the worst misses and false alarms. Everything is local: no scripts, no fonts,
/// no external addresses.
struct EvalReport {
    /// What was evaluated, for the page's header.
    struct Run {
        var model: String
        var data: String
        var images: Int
        /// Images skipped: the image or its golden image could not be read; the golden image cannot be aligned on
        /// (blank, too small); the image did not align to its golden image.
        var unreadable: Int
        var unusableGolden: Int
        var unaligned: Int
        var conf: Float
        var iou: Double

        var skipped: Int { unreadable + unusableGolden + unaligned }
        /// "2 unreadable, 1 not aligned to its golden image": why images were left out of the figures.
        var skippedReasons: String {
            [unreadable > 0 ? "\(unreadable) unreadable" : nil,
             unusableGolden > 0 ? "\(unusableGolden) with a golden image that cannot be aligned on" : nil,
             unaligned > 0 ? "\(unaligned) not aligned to \(unaligned == 1 ? "its" : "their") golden image" : nil]
                .compactMap { $0 }.joined(separator: ", ")
        }
    }

    var run: Run
    var report: EvaluationReport
    var details: EvaluationDetails
    var classNames: [String]
    /// Image path per image id (the dataset item order).
    var imagePaths: [Int: String]
    var groundTruths: [GroundTruthBox]
    var detections: [ScoredBox]

    /// Ground truth is drawn in this colour, which no class colour uses.
    static let labelColor = BoxPainter.Color(r: 0, g: 200, b: 0)

    /// Analyses the evaluation (`EvaluationDetails` at the report's confidence) and writes the report into
    /// `directory`; returns the path of its index.html. `imagePaths[id]` is the file of image `id`.
    static func write(to directory: String, report: EvaluationReport, truths: [GroundTruthBox], detections: [ScoredBox],
                      classNames: [String], imageIDs: [Int], imagePaths: [String], run: Run) throws -> String {
        let details = EvaluationDetails.analyse(groundTruths: truths, detections: detections, classCount: classNames.count,
                                                imageIDs: imageIDs, confidence: report.confidence)
        var paths: [Int: String] = [:]
        for id in imageIDs where imagePaths.indices.contains(id) { paths[id] = imagePaths[id] }
        return try EvalReport(run: run, report: report, details: details, classNames: classNames, imagePaths: paths,
                              groundTruths: truths, detections: detections).write(to: directory)
    }

    /// Writes the report into `directory` (created if needed) and returns the path of its index.html.
    /// A gallery image that cannot be read is left out with a warning on stderr; a file that cannot be
    /// written throws `InputError` naming it.
    func write(to directory: String) throws -> String {
        let dir = URL(fileURLWithPath: directory)
        let gallery = dir.appendingPathComponent("gallery")
        do { try FileManager.default.createDirectory(at: gallery, withIntermediateDirectories: true) } catch {
            throw InputError("\(directory): cannot create the report folder: \(error.localizedDescription)")
        }
        func save(_ data: Data, _ name: String) throws {
            do { try data.write(to: dir.appendingPathComponent(name)) } catch {
                throw InputError("\(dir.appendingPathComponent(name).path): cannot write: \(error.localizedDescription)")
            }
        }
        try save(Data(prCurvesSVG().utf8), "pr-curves.svg")
        try save(Data(confusionSVG().utf8), "confusion.svg")
        try save(Data(histogramSVG(details.overallHistogram, title: "all classes").utf8), "confidence.svg")
        for k in details.histograms.indices {
            try save(Data(histogramSVG(details.histograms[k], title: name(k)).utf8), "confidence-\(k).svg")
        }
        var crops = GalleryCropper(report: self)
        var missCards: [String] = [], alarmCards: [String] = []
        for (n, miss) in details.misses.enumerated() {
            let file = String(format: "gallery/miss-%02d.png", n + 1)
            guard let png = crops.crop(imageID: miss.label.imageID, around: miss.label.box,
                                       highlight: (miss.label.box, Self.labelColor)) else { continue }
            try save(png, file)
            missCards.append(card(file, missCaption(miss)))
        }
        for (n, alarm) in details.falseAlarms.enumerated() {
            let file = String(format: "gallery/false-alarm-%02d.png", n + 1)
            let d = alarm.detection
            guard let png = crops.crop(imageID: d.imageID, around: d.box,
                                       highlight: (d.box, BoxPainter.color(forClass: d.classID))) else { continue }
            try save(png, file)
            alarmCards.append(card(file, alarmCaption(alarm)))
        }
        try save(Data(indexHTML(missCards: missCards, alarmCards: alarmCards).utf8), "index.html")
        return dir.appendingPathComponent("index.html").path
    }

    // MARK: names and formatting

    func name(_ classID: Int) -> String {
        classNames.indices.contains(classID) ? classNames[classID] : "class \(classID)"
    }

    static func css(_ c: BoxPainter.Color) -> String { String(format: "#%02x%02x%02x", c.r, c.g, c.b) }
    static func classCSS(_ k: Int) -> String { css(BoxPainter.color(forClass: k)) }
    static func f(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }

    /// Text for HTML and SVG (both XML-escaped the same way), so a class or file name cannot inject markup.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    private func swatch(_ k: Int) -> String {
        "<span class=\"sw\" style=\"background:\(Self.classCSS(k))\"></span>\(Self.escape(name(k)))"
    }

    private func imageName(_ id: Int) -> String {
        Self.escape(((imagePaths[id] ?? "image \(id)") as NSString).lastPathComponent)
    }

    private static func boxText(_ b: Box) -> String {
        String(format: "(%.0f, %.0f)–(%.0f, %.0f)", b.x1, b.y1, b.x2, b.y2)
    }

    private func missCaption(_ m: EvaluationDetails.Miss) -> String {
        var s = "<b>missed</b> \(swatch(m.label.classID)) in \(imageName(m.label.imageID)) \(Self.boxText(m.label.box))<br>"
        if let d = m.bestSameClass {
            s += "best \(Self.escape(name(d.classID))) detection here: \(Self.f(Double(d.score), 3))"
        } else {
            s += "no \(Self.escape(name(m.label.classID))) detection here at any confidence"
        }
        if let o = m.otherClass { s += "<br>seen as \(swatch(o.classID)) \(Self.f(Double(o.score), 2))" }
        return s
    }

    private func alarmCaption(_ a: EvaluationDetails.FalseAlarm) -> String {
        let d = a.detection
        var s = "<b>false alarm</b> \(swatch(d.classID)) \(Self.f(Double(d.score), 2)) in \(imageName(d.imageID)) "
            + "\(Self.boxText(d.box))<br>"
        if let g = a.nearestLabel {
            s += "nearest label: \(swatch(g.classID)), IoU \(Self.f(a.iou, 2))"
            if g.classID == d.classID && a.iou >= 0.5 { s += " (already found by a higher-scoring detection)" }
        } else {
            s += "no label near it"
        }
        return s
    }

    private func card(_ file: String, _ caption: String) -> String {
        "<figure><a href=\"\(Self.escape(file))\"><img src=\"\(Self.escape(file))\" alt=\"\"></a>"
            + "<figcaption>\(caption)</figcaption></figure>"
    }

    // MARK: index.html

    private func indexHTML(missCards: [String], alarmCards: [String]) -> String {
        let conf = Double(details.confidence)
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>inspectd eval: \(Self.escape((run.model as NSString).lastPathComponent))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
        h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
        table{border-collapse:collapse} td,th{padding:.2em .6em;border-bottom:1px solid #e4e4e4;text-align:right}
        th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
        .sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border:1px solid #555;vertical-align:baseline}
        .gallery{display:flex;flex-wrap:wrap;gap:12px}
        figure{margin:0;width:220px;font-size:.8em} figure img{width:200px;image-rendering:pixelated;border:1px solid #999}
        .charts img{max-width:100%;margin:.4em 0} .small img{width:300px}
        .note{color:#555;font-size:.9em}
        </style></head><body>
        <h1>Evaluation of \(Self.escape(run.model))</h1>
        <p>Data \(Self.escape(run.data)): \(run.images) images evaluated\(run.skipped > 0 ? ", <b>\(run.skipped) skipped (\(Self.escape(run.skippedReasons)))</b>" : ""),
        \(details.curves.reduce(0) { $0 + $1.labels }) labels. Detections kept from confidence \(Self.f(Double(run.conf), 3)),
        NMS IoU \(Self.f(run.iou, 2)); matching at IoU 0.5.</p>
        <p>mAP@0.5 <b>\(Self.f(report.map50, 4))</b> · mAP@0.5:0.95 <b>\(Self.f(report.map50_95, 4))</b> ·
        at confidence \(Self.f(conf, 2)): precision \(Self.f(report.precision, 4)), recall \(Self.f(report.recall, 4)),
        F1 \(Self.f(report.f1, 4)) · \(details.missCount) labels missed, \(details.falseAlarmCount) false alarms.</p>

        <h2 id="thresholds">Per class: the confidence threshold with the best F1</h2>
        <table><tr><th>class</th><th>labels</th><th>AP50</th><th>AP50:95</th><th>P @ \(Self.f(conf, 2))</th>
        <th>R @ \(Self.f(conf, 2))</th><th>F1 @ \(Self.f(conf, 2))</th><th>best-F1 threshold</th><th>P</th><th>R</th><th>F1</th></tr>

        """
        for (c, curve) in zip(report.perClass, details.curves) {
            let ap = { (v: Double?) in v.map { Self.f($0, 4) } ?? "–" }
            h += "<tr><td>\(swatch(c.classID))</td><td>\(c.groundTruths)</td><td>\(ap(c.ap50))</td><td>\(ap(c.ap50_95))</td>"
                + "<td>\(Self.f(c.precision))</td><td>\(Self.f(c.recall))</td><td>\(Self.f(c.f1))</td>"
            if let b = curve.best {
                h += "<td><b>\(Self.f(Double(b.confidence), 3))</b></td><td>\(Self.f(b.precision))</td>"
                    + "<td>\(Self.f(b.recall))</td><td>\(Self.f(b.f1))</td></tr>\n"
            } else {
                h += "<td>–</td><td>–</td><td>–</td><td>–</td></tr>\n"
            }
        }
        let yaml = details.curves.compactMap { c in
            c.best.map { "    \(Self.escape(name(c.classID))): {confidence: \(Self.f(Double($0.confidence), 3))}" }
        }
        h += """
        </table>
        <p class="note">A detection is kept when its confidence is at least the threshold. The best-F1 threshold weighs a
        miss and a false alarm equally; where a miss costs more, take a lower one from the curves below. In the daemon's
        config (figures measured with this run's NMS IoU \(Self.f(run.iou, 2))):</p>
        <pre>detection:
          classes:
        \(yaml.joined(separator: "\n"))</pre>

        <h2 id="pr">Precision-recall curves (IoU 0.5)</h2>
        <div class="charts"><a href="pr-curves.svg"><img src="pr-curves.svg" alt="precision-recall curves"></a></div>
        <p class="note">Circles mark each class's best-F1 threshold. Recall rises as the threshold falls.</p>

        <h2 id="confusion">Confusion matrix at confidence \(Self.f(conf, 2))</h2>
        <div class="charts"><a href="confusion.svg"><img src="confusion.svg" alt="confusion matrix"></a></div>
        <p class="note">Each detection at or above the confidence, highest first, takes the unmatched label of any class
        it overlaps most at IoU ≥ 0.5. Row <i>background</i>: detections that matched no label;
        column <i>missed</i>: labels no detection matched. Shading is the share of the row.</p>

        <h2 id="confidence">Confidence of true and false positives</h2>
        <div class="charts"><a href="confidence.svg"><img src="confidence.svg" alt="confidence histogram, all classes"></a></div>
        <div class="charts small">
        """
        for k in details.histograms.indices {
            h += "<a href=\"confidence-\(k).svg\"><img src=\"confidence-\(k).svg\" alt=\"confidence histogram, \(Self.escape(name(k)))\"></a>\n"
        }
        h += """
        </div>
        <p class="note">Counts on a log scale. True positives match a label of their class at IoU ≥ 0.5 (COCO matching);
        the dashed line is the report confidence.</p>

        <h2 id="misses">Worst misses (\(missCards.count) of \(details.missCount))</h2>
        <p class="note">Labels with no detection of their class at IoU ≥ 0.5 and confidence ≥ \(Self.f(conf, 2)),
        those the model came least close to first. <span class="sw" style="background:\(Self.css(Self.labelColor))"></span>label,
        other colours: detections by class (at or above the confidence, plus the missed label's best detection).</p>
        <div class="gallery">\(missCards.joined(separator: "\n"))</div>

        <h2 id="false-alarms">Worst false alarms (\(alarmCards.count) of \(details.falseAlarmCount))</h2>
        <p class="note">Detections at or above \(Self.f(conf, 2)) that matched no label of their class, highest confidence first.</p>
        <div class="gallery">\(alarmCards.joined(separator: "\n"))</div>
        </body></html>

        """
        return h
    }

    // MARK: SVG charts

    private func svgOpen(_ w: Int, _ h: Int) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" "
            + "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"\(w)\" height=\"\(h)\" fill=\"white\"/>\n"
    }

    private func prCurvesSVG() -> String {
        let w = 720, h = 460, left = 60.0, top = 20.0, pw = 420.0, ph = 380.0
        // Rounded to 0.1 px so the file reads "96.0", not "95.99999999999999".
        func x(_ r: Double) -> Double { ((left + r * pw) * 10).rounded() / 10 }
        func y(_ p: Double) -> Double { ((top + (1 - p) * ph) * 10).rounded() / 10 }
        var s = svgOpen(w, h)
        for i in 0...5 {
            let v = Double(i) / 5
            s += "<line x1=\"\(x(0))\" y1=\"\(y(v))\" x2=\"\(x(1))\" y2=\"\(y(v))\" stroke=\"#ddd\"/>"
                + "<line x1=\"\(x(v))\" y1=\"\(y(0))\" x2=\"\(x(v))\" y2=\"\(y(1))\" stroke=\"#ddd\"/>"
                + "<text x=\"\(x(0) - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(Self.f(v, 1))</text>"
                + "<text x=\"\(x(v))\" y=\"\(y(0) + 16)\" text-anchor=\"middle\">\(Self.f(v, 1))</text>\n"
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(x(0.5))\" y=\"\(h - 14)\" text-anchor=\"middle\">recall</text>"
        s += "<text transform=\"translate(16 \(y(0.5))) rotate(-90)\" text-anchor=\"middle\">precision</text>\n"
        for (n, curve) in details.curves.enumerated() {
            let color = Self.classCSS(curve.classID)
            // A few hundred points draw the curve; thousands only make the file heavy.
            let step = max(1, curve.points.count / 400)
            var pts = stride(from: 0, to: curve.points.count, by: step).map { curve.points[$0] }
            if let last = curve.points.last, pts.last != last { pts.append(last) }
            if !pts.isEmpty {
                let coords = pts.map { "\(Self.f(x($0.recall), 1)),\(Self.f(y($0.precision), 1))" }.joined(separator: " ")
                s += "<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }
            if let b = curve.best {
                s += "<circle cx=\"\(Self.f(x(b.recall), 1))\" cy=\"\(Self.f(y(b.precision), 1))\" r=\"5\" fill=\"\(color)\" stroke=\"#222\"/>\n"
            }
            let ly = top + 10 + Double(n) * 22
            let ap = report.perClass.first { $0.classID == curve.classID }?.ap50
            let bestText = curve.best.map { "best F1 \(Self.f($0.f1, 2)) at \(Self.f(Double($0.confidence), 2))" } ?? "no true positive"
            s += "<rect x=\"\(left + pw + 16)\" y=\"\(ly - 9)\" width=\"14\" height=\"10\" fill=\"\(color)\" stroke=\"#555\"/>"
                + "<text x=\"\(left + pw + 36)\" y=\"\(ly)\">\(Self.escape(name(curve.classID))) AP50 "
                + "\(ap.map { Self.f($0, 3) } ?? "–"), \(bestText)</text>\n"
        }
        return s + "</svg>\n"
    }

    private func confusionSVG() -> String {
        let n = details.confusion.classCount + 1
        let cell = 64.0, left = 130.0, top = 110.0
        let w = Int(left + cell * Double(n) + 20), h = Int(top + cell * Double(n) + 40)
        let title = { (i: Int, row: Bool) in i < n - 1 ? self.name(i) : (row ? "background" : "missed") }
        var s = svgOpen(w, h)
        s += "<text x=\"\(left + cell * Double(n) / 2)\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">predicted</text>"
        s += "<text transform=\"translate(14 \(top + cell * Double(n) / 2)) rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">true</text>\n"
        for j in 0..<n {
            let cx = left + (Double(j) + 0.5) * cell
            s += "<text transform=\"translate(\(cx) \(top - 8)) rotate(-40)\">\(Self.escape(title(j, false)))</text>\n"
        }
        for i in 0..<n {
            let row = details.confusion.counts[i]
            let total = max(1, row.reduce(0, +))
            let cy = top + Double(i) * cell
            s += "<text x=\"\(left - 8)\" y=\"\(cy + cell / 2 + 4)\" text-anchor=\"end\">\(Self.escape(title(i, true)))</text>\n"
            for j in 0..<n {
                let v = row[j]
                let share = Double(v) / Double(total)
                // White to dark blue by share of the row; the diagonal is what should be dark.
                let shade = Int(255 - share * 200)
                let fill = String(format: "#%02x%02x%02x", shade, shade, 255)
                let cx = left + Double(j) * cell
                s += "<rect x=\"\(cx)\" y=\"\(cy)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(i == n - 1 && j == n - 1 ? "#eee" : fill)\" stroke=\"#999\"/>"
                s += "<text x=\"\(cx + cell / 2)\" y=\"\(cy + cell / 2 + 5)\" text-anchor=\"middle\" font-size=\"15\" fill=\"\(share > 0.6 ? "white" : "black")\">\(i == n - 1 && j == n - 1 ? "" : "\(v)")</text>\n"
            }
        }
        return s + "</svg>\n"
    }

    private func histogramSVG(_ hist: EvaluationDetails.Histogram, title: String) -> String {
        let w = 560, h = 300, left = 56.0, top = 34.0, pw = 480.0, ph = 220.0
        let bins = hist.truePositives.count
        let top1 = max(1, (hist.truePositives + hist.falsePositives).max() ?? 1)
        let maxLog = log10(Double(top1) + 1)
        func y(_ count: Int) -> Double { ((top + ph - log10(Double(count) + 1) / maxLog * ph) * 10).rounded() / 10 }
        var s = svgOpen(w, h)
        s += "<text x=\"\(left)\" y=\"18\" font-weight=\"bold\">\(Self.escape(title))</text>"
        s += "<rect x=\"\(left + pw - 190)\" y=\"8\" width=\"12\" height=\"10\" fill=\"#2a9d3a\"/><text x=\"\(left + pw - 174)\" y=\"17\">true positives</text>"
        s += "<rect x=\"\(left + pw - 80)\" y=\"8\" width=\"12\" height=\"10\" fill=\"#d1382e\"/><text x=\"\(left + pw - 64)\" y=\"17\">false</text>\n"
        var tick = 1
        while tick <= top1 {
            s += "<line x1=\"\(left)\" y1=\"\(y(tick))\" x2=\"\(left + pw)\" y2=\"\(y(tick))\" stroke=\"#e4e4e4\"/>"
                + "<text x=\"\(left - 6)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\">\(tick)</text>\n"
            tick *= 10
        }
        let bw = pw / Double(max(1, bins))
        for b in 0..<bins {
            let x0 = left + Double(b) * bw
            for (k, (count, color)) in [(hist.truePositives[b], "#2a9d3a"), (hist.falsePositives[b], "#d1382e")].enumerated() where count > 0 {
                let yy = y(count)
                s += "<rect x=\(q(x0 + 1 + Double(k) * (bw - 2) / 2)) y=\(q(yy)) width=\(q((bw - 2) / 2)) height=\(q(top + ph - yy)) fill=\"\(color)\"><title>\(count)</title></rect>\n"
            }
        }
        for i in 0...5 {
            let v = Double(i) / 5
            s += "<text x=\"\(left + v * pw)\" y=\"\(top + ph + 16)\" text-anchor=\"middle\">\(Self.f(v, 1))</text>"
        }
        let cx = left + Double(min(1, max(0, details.confidence))) * pw
        s += "<line x1=\(q(cx)) y1=\"\(top)\" x2=\(q(cx)) y2=\"\(top + ph)\" stroke=\"#222\" stroke-dasharray=\"4 3\"/>"
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#444\"/>"
        s += "<text x=\"\(left + pw / 2)\" y=\"\(h - 8)\" text-anchor=\"middle\">confidence</text>\n"
        return s + "</svg>\n"
    }

    private func q(_ v: Double) -> String { "\"\(Self.f(v, 1))\"" }
}

/// Cuts the gallery's crops out of the dataset images and draws the boxes on them.
private struct GalleryCropper {
    let report: EvalReport
    let reader = ImageFileReader()
    let decoder: JPEGDecoder?
    var cached: (id: Int, pixels: PixelBuffer)?
    var failed: Set<Int> = []

    init(report: EvalReport) {
        self.report = report
        decoder = try? JPEGDecoder()
    }

    /// The PNG of a crop around `box` (with context) showing every label and the detections at or above the
    /// report confidence, `highlight` drawn thicker; nil (after a warning) when the image cannot be read again.
    mutating func crop(imageID: Int, around box: Box, highlight: (Box, BoxPainter.Color)) -> Data? {
        guard let image = rgb(imageID) else { return nil }
        let bw = Double(box.x2 - box.x1), bh = Double(box.y2 - box.y1)
        // Twice the box, at least 96 px, so the defect is seen with the board around it.
        let side = min(Double(max(image.width, image.height)), max(96, 2 * max(bw, bh) + 24))
        let cw = min(image.width, Int(side)), ch = min(image.height, Int(side))
        let cx = Double(box.x1 + box.x2) / 2, cy = Double(box.y1 + box.y2) / 2
        let x0 = max(0, min(image.width - cw, Int(cx - Double(cw) / 2))), y0 = max(0, min(image.height - ch, Int(cy - Double(ch) / 2)))
        let out = PixelBuffer(capacity: cw * ch * 3)
        out.width = cw; out.height = ch; out.format = .rgb24; out.byteCount = cw * ch * 3
        for row in 0..<ch {
            out.bytes.advanced(by: row * cw * 3)
                .copyMemory(from: image.bytes.advanced(by: ((y0 + row) * image.width + x0) * 3), byteCount: cw * 3)
        }
        let dx = Float(x0), dy = Float(y0)
        func draw(_ b: Box, _ color: BoxPainter.Color, _ thickness: Int) {
            try? BoxPainter.draw(x1: b.x1 - dx, y1: b.y1 - dy, x2: b.x2 - dx, y2: b.y2 - dy, color: color,
                                 thickness: thickness, on: out)
        }
        for d in report.detections where d.imageID == imageID && d.score >= report.details.confidence {
            draw(d.box, BoxPainter.color(forClass: d.classID), 1)
        }
        // A missed label's best detection of its class, though below the confidence, shows how close it came.
        if let miss = report.details.misses.first(where: { $0.label.imageID == imageID && $0.label.box == box }),
           let near = miss.bestSameClass {
            draw(near.box, BoxPainter.color(forClass: near.classID), 1)
        }
        for g in report.groundTruths where g.imageID == imageID { draw(g.box, EvalReport.labelColor, 1) }
        draw(highlight.0, highlight.1, 2)
        do { return try PNGEncoder.encode(out) } catch {
            printWarning("report: \(report.imagePaths[imageID] ?? "image \(imageID)"): cannot write its crop: \(error)")
            return nil
        }
    }

    /// The image as `.rgb24`, decoded once for consecutive cases on the same image.
    private mutating func rgb(_ id: Int) -> PixelBuffer? {
        if let c = cached, c.id == id { return c.pixels }
        guard !failed.contains(id), let path = report.imagePaths[id] else { return nil }
        do {
            let file = try reader.read(path: path)
            var pixels: PixelBuffer
            switch file.format {
            case .jpeg:
                guard let decoder else { throw ImagingError.codecFailure("no JPEG decoder") }
                let (w, h) = try decoder.header(file.contents)
                pixels = PixelBuffer(capacity: max(1, w * h * 3))
                try decoder.decode(file.contents, into: pixels, format: .rgb24)
            case .gray8:
                pixels = PixelBuffer(capacity: file.width * file.height * 3)
                let src = file.bytes.assumingMemoryBound(to: UInt8.self), dst = pixels.bytes.assumingMemoryBound(to: UInt8.self)
                for i in 0..<(file.width * file.height) { dst[3 * i] = src[i]; dst[3 * i + 1] = src[i]; dst[3 * i + 2] = src[i] }
                pixels.width = file.width; pixels.height = file.height; pixels.format = .rgb24
                pixels.byteCount = file.width * file.height * 3
            default:
                pixels = file
            }
            cached = (id, pixels)
            return pixels
        } catch {
            failed.insert(id)
            printWarning("report: \(path): left out of the gallery: \(error)")
            return nil
        }
    }
}

/// One warning line on stderr.
func printWarning(_ message: String) {
    FileHandle.standardError.write(Data(("inspectd: warning: " + message + "\n").utf8))
}
