import Foundation

/// Evidence JPEGs of NG frames in one directory, kept under a disk-usage cap by deleting the oldest files.
/// The daemon encodes the frame (and optionally an annotated copy with boxes) and hands the bytes here; the
/// returned paths go into the ``InspectionRecord`` and so into the database and the defects payload.
///
/// Files are `{camera}_{UTC time}_{sequence}.jpg` (and `..._annotated.jpg`), written to a temporary name and
/// renamed, so a reader never sees half a JPEG. Thread-safe (one lock around the bookkeeping).
public final class SnapshotStore: @unchecked Sendable {
    /// Where snapshots go.
    public let directory: URL
    /// Disk-usage cap in bytes for the directory's snapshots.
    public let maxBytes: Int64
    private let lock = NSLock()
    // Invariant (guarded by `lock`): `files` holds every snapshot in the directory, oldest first; `total` is their size.
    private var files: [(path: String, size: Int64)] = []
    private var total: Int64 = 0

    /// Opens (creating) the directory and accounts for the snapshots already there.
    public init(directory: String, maxBytes: Int64) throws {
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        self.maxBytes = maxBytes
        let fm = FileManager.default
        try fm.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let keys: [URLResourceKey] = [.contentModificationDateKey, .fileSizeKey, .isRegularFileKey]
        let found = try fm.contentsOfDirectory(at: self.directory, includingPropertiesForKeys: keys)
            .filter { $0.pathExtension == "jpg" }
            .compactMap { url -> (String, Int64, Date)? in
                guard let v = try? url.resourceValues(forKeys: Set(keys)), v.isRegularFile == true else { return nil }
                return (url.path, Int64(v.fileSize ?? 0), v.contentModificationDate ?? .distantPast)
            }
            .sorted { ($0.2, $0.0) < ($1.2, $1.0) }
        files = found.map { ($0.0, $0.1) }
        total = files.reduce(0) { $0 + $1.size }
    }

    /// Bytes currently used by snapshots.
    public var usedBytes: Int64 {
        lock.lock(); defer { lock.unlock() }
        return total
    }

    /// Writes the frame JPEG (and the annotated copy when given), deletes the oldest snapshots beyond the cap,
    /// and returns the paths written.
    public func save(jpeg: Data, annotated: Data? = nil, camera: String, sequence: UInt64,
                     captureTime: Date) throws -> (path: String, annotatedPath: String?) {
        let safeCamera = String(camera.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        let stamp = Timestamp.string(captureTime).replacingOccurrences(of: ":", with: "")
        let base = "\(safeCamera)_\(stamp)_\(sequence)"
        let path = try write(jpeg, name: base + ".jpg")
        let annotatedPath = try annotated.map { try write($0, name: base + "_annotated.jpg") }
        return (path, annotatedPath)
    }

    private func write(_ data: Data, name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        let temp = directory.appendingPathComponent("." + name + ".tmp")
        try data.write(to: temp)
        guard rename(temp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temp)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: reason])
        }
        lock.lock()
        files.append((url.path, Int64(data.count)))
        total += Int64(data.count)
        var victims: [String] = []
        while total > maxBytes, files.count > 1 {
            let oldest = files.removeFirst()
            total -= oldest.size
            victims.append(oldest.path)
        }
        lock.unlock()
        for victim in victims { try? FileManager.default.removeItem(atPath: victim) }
        return url.path
    }
}
