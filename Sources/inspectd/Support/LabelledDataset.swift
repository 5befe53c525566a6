import Detection
import Foundation
import Yams

/// Images and YOLO-format labels for `inspectd eval`: an Ultralytics data.yaml (its `val`, or another split)
/// or a folder holding `images/` and `labels/`.
///
/// Golden images (for models that compare a frame with its reference) are found like labels: the last
/// `/images/` of an image's path becomes `/templates/` (DeepPCB's layout: templates/val/NAME beside
/// images/val/NAME), or `/X/` for a data.yaml key `templates: X`.
struct LabelledDataset {
    /// One image, the path of its label file (which may be absent: an image with no defects) and of its golden
    /// image (which may be absent: then only a single-image model can be evaluated).
    struct Item { var image: String; var labels: String; var template: String }

    var items: [Item]
    /// Class names from data.yaml `names` (empty for a plain folder).
    var classNames: [String]

    /// Loads the image list. Throws `InputError` naming the file or key at fault.
    init(path: String, split: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw InputError("\(path): no such file or folder")
        }
        if isDir.boolValue {
            let images = (path as NSString).appendingPathComponent("images")
            guard FileManager.default.fileExists(atPath: images) else {
                throw InputError("\(path): a dataset folder needs images/ and labels/ (YOLO format)")
            }
            items = try Self.list(images, templates: "templates")
            classNames = []
            return
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw InputError("\(path): cannot read: \(error.localizedDescription)")
        }
        guard let yaml = try? Yams.load(yaml: text) as? [String: Any] else {
            throw InputError("\(path): not an Ultralytics data.yaml (a YAML mapping)")
        }
        let folder = (path as NSString).deletingLastPathComponent
        var root = folder
        if let p = yaml["path"] as? String { root = p.hasPrefix("/") ? p : (folder as NSString).appendingPathComponent(p) }
        guard let entry = yaml[split] as? String else {
            throw InputError("\(path): key '\(split)' is missing or not a single path")
        }
        let target = entry.hasPrefix("/") ? entry : (root as NSString).appendingPathComponent(entry)
        let templates = (yaml["templates"] as? String) ?? "templates"
        if target.hasSuffix(".txt") {
            let list = (try? String(contentsOfFile: target, encoding: .utf8)) ?? ""
            items = list.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }.map {
                let p = $0.hasPrefix("/") ? $0 : (root as NSString).appendingPathComponent($0)
                return Item(image: p, labels: Self.labelPath(p), template: Self.templatePath(p, templates))
            }
        } else {
            items = try Self.list(target, templates: templates)
        }
        if let names = yaml["names"] as? [Int: String] {
            let top = names.keys.max() ?? -1
            classNames = top >= 0 ? (0...top).map { names[$0] ?? "class\($0)" } : []
        } else if let names = yaml["names"] as? [String] {
            classNames = names
        } else {
            classNames = []
        }
        if items.isEmpty { throw InputError("\(target): no JPEG or PNG images") }
    }

    private static func list(_ folder: String, templates: String) throws -> [Item] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw InputError("\(folder): cannot list the folder")
        }
        return names.filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            .map {
                let p = (folder as NSString).appendingPathComponent($0)
                return Item(image: p, labels: labelPath(p), template: templatePath(p, templates))
            }
    }

    /// Ultralytics' rule: the last `/images/` becomes `/labels/`, the extension `.txt`.
    static func labelPath(_ image: String) -> String {
        var p = image
        if let r = p.range(of: "/images/", options: .backwards) { p.replaceSubrange(r, with: "/labels/") }
        return (p as NSString).deletingPathExtension + ".txt"
    }

    /// The golden image's path: the last `/images/` becomes `/TEMPLATES/` (same file name).
    static func templatePath(_ image: String, _ templates: String) -> String {
        var p = image
        if let r = p.range(of: "/images/", options: .backwards) { p.replaceSubrange(r, with: "/\(templates)/") }
        return p
    }

    /// Ground-truth boxes in pixels of an image `width`×`height`. Throws `InputError` for a malformed line.
    static func groundTruths(labels: String, imageID: Int, width: Int, height: Int) throws -> [GroundTruthBox] {
        guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else { return [] }
        var boxes: [GroundTruthBox] = []
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let f = line.split(separator: " ").compactMap { Float($0) }
            guard f.count == 5, let c = Int(exactly: f[0]), c >= 0 else {
                throw InputError("\(labels):\(n + 1): expected 'class cx cy w h' (YOLO, normalised)")
            }
            let w = Float(width), h = Float(height)
            boxes.append(GroundTruthBox(imageID: imageID, classID: c,
                                        box: Box(x1: (f[1] - f[3] / 2) * w, y1: (f[2] - f[4] / 2) * h,
                                                 x2: (f[1] + f[3] / 2) * w, y2: (f[2] + f[4] / 2) * h)))
        }
        return boxes
    }
}
