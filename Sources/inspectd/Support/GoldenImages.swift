import Daemon
import Foundation

/// The golden images `detect` and `eval` compare images with, for a model that composes its input from a frame
/// and its reference: one for all images (`--reference`), or one per image with the same file name in a folder
/// (`--references`, or a dataset's `templates`). The last one read is kept (consecutive images may share it).
final class GoldenImages {
    private let single: ReferenceImage?
    private let folder: String?
    private let needed: Bool
    private var last: (file: String, image: ReferenceImage)?

    /// Throws `InputError` for a missing file or folder, both options at once, or none when the model needs one.
    init(reference: String?, folder: String?, needed: Bool, model: String) throws {
        if reference != nil && folder != nil { throw InputError("give --reference or --references, not both") }
        if needed && reference == nil && folder == nil {
            throw InputError("\(model) compares each image with its golden image (metadata \(InputComposition.metadataKey)): "
                + "give --reference FILE or --references DIR")
        }
        if let folder {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
                throw InputError("\(folder): no such folder")
            }
        }
        do { single = try reference.map { try ReferenceImage(path: $0) } } catch { throw InputError("--reference: \(error)") }
        self.folder = folder; self.needed = needed
    }

    /// The golden image for the image at `path`: nil when the model does not use one. Throws `InputError` when
    /// the folder has no file of that name or it cannot be read.
    func reference(for path: String) throws -> ReferenceImage? {
        guard needed else { return nil }
        if let single { return single }
        guard let folder else { return nil }
        let file = (folder as NSString).appendingPathComponent((path as NSString).lastPathComponent)
        if let last, last.file == file { return last.image }
        guard FileManager.default.fileExists(atPath: file) else {
            throw InputError("no golden image \(file) for \(path)")
        }
        let r: ReferenceImage
        do { r = try ReferenceImage(path: file) } catch { throw InputError("\(error)") }
        last = (file, r)
        return r
    }
}
