import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `inspectd eval --report DIR` writes a self-contained report, and `eval` skips unreadable images with a warning.
final class EvalReportTests: XCTestCase {
    private var dir: URL!
    private var model: String { CLI.repo.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path }
    private var val: URL { CLI.shared.appendingPathComponent("datasets/deeppcb") }
    private let classes = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("inspectd-evalreport-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Every `href`/`src` in `html`.
    static func links(_ html: String) throws -> [String] {
        let re = try NSRegularExpression(pattern: #"(?:href|src)="([^"]*)""#)
        return re.matches(in: html, range: NSRange(html.startIndex..., in: html)).map {
            String(html[Range($0.range(at: 1), in: html)!])
        }
    }

    func testReportOnDeepPCBValLinksOnlyFilesItWrote() throws {
        let out = dir.appendingPathComponent("report")
        let r = try CLI.run(["eval", "--model", model, "--data", val.appendingPathComponent("data.yaml").path,
                             "--threads", "2", "--report", out.path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("mAP@0.5"), r.out)
        XCTAssertFalse(r.err.contains("\r"), "no progress line when stderr is not a terminal: \(r.err)")
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)

        // Offline: nothing fetched from elsewhere, no scripts.
        XCTAssertFalse(html.contains("http:") || html.contains("https:"), "external reference in index.html")
        XCTAssertFalse(html.lowercased().contains("<script"))

        let links = try Self.links(html)
        XCTAssertTrue(links.contains("pr-curves.svg") && links.contains("confusion.svg") && links.contains("confidence.svg"), "\(links)")
        let pngs = Set(links.filter { $0.hasPrefix("gallery/") && $0.hasSuffix(".png") })
        XCTAssertTrue(pngs.contains("gallery/miss-01.png") && pngs.contains("gallery/false-alarm-01.png"), "\(pngs)")
        for link in Set(links) {
            XCTAssertFalse(link.hasPrefix("/") || link.contains(".."), "link \(link) stays inside the report")
            let file = out.appendingPathComponent(link)
            XCTAssertTrue(FileManager.default.fileExists(atPath: file.path), "index.html links \(link), which is missing")
            guard let data = try? Data(contentsOf: file) else { continue }
            if link.hasSuffix(".png") {
                XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], link)
            } else if link.hasSuffix(".svg") {
                let parser = XMLParser(data: data)
                XCTAssertTrue(parser.parse(), "\(link) is well-formed XML: \(String(describing: parser.parserError))")
            }
        }
        XCTAssertLessThanOrEqual(pngs.count, 48)

        // The best-F1 table: a header row and one row per class, each with a threshold.
        let start = try XCTUnwrap(html.range(of: "id=\"thresholds\""))
        let table = html[start.upperBound...]
        let end = try XCTUnwrap(table.range(of: "</table>"))
        let rows = table[..<end.lowerBound].components(separatedBy: "<tr>").dropFirst(2)
        XCTAssertEqual(rows.count, classes.count)
        for (row, name) in zip(rows, classes) {
            XCTAssertTrue(row.contains("</span>\(name)</td>"), "row for \(name): \(row)")
            let threshold = try NSRegularExpression(pattern: #"<td><b>0\.\d{3}</b></td>"#)
            XCTAssertEqual(threshold.numberOfMatches(in: row, range: NSRange(row.startIndex..., in: row)), 1,
                           "\(name) has a best-F1 threshold: \(row)")
        }
    }

    /// A dataset folder with two real images and a text file named x.jpg; its name and the first image's
    /// hold HTML's special characters, which the report must escape.
    private func datasetWithABadImage(good: Int) throws -> URL {
        let data = dir.appendingPathComponent("data <b>&\"'")
        let images = data.appendingPathComponent("images"), labels = data.appendingPathComponent("labels")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: labels, withIntermediateDirectories: true)
        for (name, copy) in [("92000011", "92000011 <i>&amp"), ("92000012", "92000012")].prefix(good) {
            try FileManager.default.copyItem(at: val.appendingPathComponent("images/val/\(name).jpg"),
                                             to: images.appendingPathComponent("\(copy).jpg"))
            try FileManager.default.copyItem(at: val.appendingPathComponent("labels/val/\(name).txt"),
                                             to: labels.appendingPathComponent("\(copy).txt"))
        }
        try Data("this is not a picture".utf8).write(to: images.appendingPathComponent("x.jpg"))
        return data
    }

    func testUnreadableImageIsSkippedWithAWarning() throws {
        let data = try datasetWithABadImage(good: 2)
        let out = dir.appendingPathComponent("report")
        let r = try CLI.run(["eval", "--model", model, "--data", data.path, "--report", out.path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("x.jpg"), "the skipped image is named: \(r.err)")
        XCTAssertTrue(r.err.contains("skipped 1 of 3 images"), r.err)
        XCTAssertTrue(r.out.contains("on 2 images (1 skipped)"), r.out)
        XCTAssertTrue(r.out.contains("mAP@0.5 "), "the figures still print: \(r.out)")
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("data &lt;b&gt;&amp;&quot;&#39;"), "the data path is escaped")
        XCTAssertFalse(html.contains("<b>&") || html.contains("<i>&"), "no name reaches the page unescaped")
        XCTAssertTrue(html.contains("1 skipped (1 unreadable)"))
        for link in Set(try Self.links(html)) {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(link).path), link)
        }
    }

    /// A golden-board model's eval: an image whose template is another board is skipped as not aligned, and
    /// the summary says so (it said "unreadable" before).
    func testImageNotAlignedToItsTemplateIsSkippedAsNotAligned() throws {
        let data = dir.appendingPathComponent("ref")
        for sub in ["images", "labels", "templates"] {
            try FileManager.default.createDirectory(at: data.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: val.appendingPathComponent("images/val").path)
            .filter { $0.hasSuffix(".jpg") }.sorted()
        let image = val.appendingPathComponent("images/val/\(names[0])")
        let label = val.appendingPathComponent("labels/val/\(names[0].dropLast(4)).txt")
        // names[7]'s golden image is another board (the daemon's wrong-reference test uses the same pair).
        for (copy, template) in [("own", names[0]), ("other", names[7])] {
            try FileManager.default.copyItem(at: image, to: data.appendingPathComponent("images/\(copy).jpg"))
            try FileManager.default.copyItem(at: label, to: data.appendingPathComponent("labels/\(copy).txt"))
            try FileManager.default.copyItem(at: val.appendingPathComponent("templates/val/\(template)"),
                                             to: data.appendingPathComponent("templates/\(copy).jpg"))
        }
        let model = CLI.repo.appendingPathComponent("Models/deeppcb-ref-yolov8n.int8.onnx").path
        let out = dir.appendingPathComponent("report")
        let r = try CLI.run(["eval", "--model", model, "--data", data.path, "--report", out.path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("other.jpg") && r.err.contains("does not match the reference"), r.err)
        XCTAssertTrue(r.err.contains("skipped 1 of 2 images (1 not aligned to its golden image)"), r.err)
        XCTAssertTrue(r.out.contains("on 1 images (1 skipped)"), r.out)
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("1 skipped (1 not aligned to its golden image)"), html)
    }

    func testEveryImageUnreadableExits2() throws {
        let data = try datasetWithABadImage(good: 0)
        let r = try CLI.run(["eval", "--model", model, "--data", data.path])
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("x.jpg"), r.err)
        XCTAssertTrue(r.err.contains("none of the 1 images could be evaluated (1 unreadable)"), r.err)
        XCTAssertFalse(r.out.contains("mAP"), r.out)
    }
}
