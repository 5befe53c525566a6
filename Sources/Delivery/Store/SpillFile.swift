import Foundation

/// The second tier of the ``AuditWriter``'s spill: while the audit database cannot be written and the records
/// held in memory reach their limit, the oldest are appended here (JSON lines, one record with its messages
/// each) up to `maxBytes`; when the database works again they are written back in submission order, in one
/// transaction. Meant for another file system than the database's (`audit.spill_path`).
///
/// Write-back first moves the file aside (`<path>.writeback`) and deletes that only after the commit, so a
/// crash or a stop in between leaves it for the next start; a line cut short by a crash is skipped and counted.
///
/// Not thread-safe: the writer uses it only with its lock held.
final class SpillFile {
    /// One spilled record: its place in the submission order (process epoch, then sequence) and the record.
    struct Entry: Codable {
        var epoch: Int64
        var seq: UInt64
        var item: AuditWriter.Item
    }

    let path: String
    let maxBytes: Int64
    private var handle: FileHandle?
    /// Bytes in `path` (what the cap limits).
    private(set) var bytes: Int64 = 0
    /// Records in `path` (lines, as counted when appended or found).
    private var fileCount = 0
    /// Records taken for write-back and not yet committed.
    private var writeBackCount = 0
    /// Records spilled and not yet written back.
    var count: Int { fileCount + writeBackCount }
    private var writeBackPath: String { path + ".writeback" }

    /// Opens nothing yet; counts what an earlier process left behind.
    init(path: String, maxBytes: Int64) {
        self.path = path; self.maxBytes = maxBytes
        for p in [path, writeBackPath] {
            guard let data = FileManager.default.contents(atPath: p) else { continue }
            let lines = data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            if p == path { bytes = Int64(data.count); fileCount = lines } else { writeBackCount = lines }
        }
    }

    /// True when there is something to write back.
    var isEmpty: Bool { count == 0 && !FileManager.default.fileExists(atPath: writeBackPath) && !FileManager.default.fileExists(atPath: path) }

    /// Appends `entries` (all or none, as far as the cap goes); false when they would exceed the cap.
    /// Throws when the file cannot be written (its file system full too).
    func append(_ entries: [Entry]) throws -> Bool {
        var data = Data()
        let encoder = JSONEncoder()
        for e in entries { data.append(try encoder.encode(e)); data.append(UInt8(ascii: "\n")) }
        guard bytes + Int64(data.count) <= maxBytes else { return false }
        if handle == nil {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw SpillError("cannot create \(path): \(String(cString: strerror(errno)))")
                }
            }
            handle = try FileHandle(forWritingAtPath: path).orThrow(SpillError("cannot open \(path)"))
            try handle?.seekToEnd()
        }
        do {
            try handle?.write(contentsOf: data)
            try handle?.synchronize()
        } catch {
            // A partial line is skipped on reading; the records stay counted where they are.
            try? handle?.close(); handle = nil
            throw error
        }
        bytes += Int64(data.count)
        fileCount += entries.count
        return true
    }

    /// Moves the spill aside and returns its records (an earlier write-back file first), sorted in submission
    /// order, and the number of lines that could not be read. Call ``writtenBack()`` once they are committed.
    func takeForWriteBack() throws -> (entries: [Entry], unreadable: Int) {
        try? handle?.close(); handle = nil
        let fm = FileManager.default
        if fm.fileExists(atPath: path) {
            if fm.fileExists(atPath: writeBackPath) {
                let more = try Data(contentsOf: URL(fileURLWithPath: path))
                let out = try FileHandle(forWritingAtPath: writeBackPath).orThrow(SpillError("cannot open \(writeBackPath)"))
                try out.seekToEnd(); try out.write(contentsOf: more); try out.synchronize(); try out.close()
                try fm.removeItem(atPath: path)
            } else {
                try fm.moveItem(atPath: path, toPath: writeBackPath)
            }
        }
        bytes = 0; fileCount = 0
        guard let data = fm.contents(atPath: writeBackPath) else { writeBackCount = 0; return ([], 0) }
        let decoder = JSONDecoder()
        var entries: [Entry] = [], unreadable = 0
        for line in data.split(separator: UInt8(ascii: "\n")) {
            if let e = try? decoder.decode(Entry.self, from: Data(line)) { entries.append(e) } else { unreadable += 1 }
        }
        entries.sort { ($0.epoch, $0.seq) < ($1.epoch, $1.seq) }
        writeBackCount = entries.count
        return (entries, unreadable)
    }

    /// The records taken by ``takeForWriteBack()`` are in the database: forget them.
    func writtenBack() {
        try? FileManager.default.removeItem(atPath: writeBackPath)
        writeBackCount = 0
    }
}

/// A spill file problem (its file system is full or not writable).
struct SpillError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Optional {
    fileprivate func orThrow(_ error: @autoclosure () -> Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
