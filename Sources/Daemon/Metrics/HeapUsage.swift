import Delivery
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc totals, read through `malloc_info` (looked up at run time: other C libraries lack it).
public struct HeapUsage: Sendable {
    /// Arena memory taken from the system minus its free chunks (includes each arena's top chunk).
    public var inUseMB: Double
    /// Free chunks kept in the arenas.
    public var freeMB: Double
    /// Large blocks mapped directly.
    public var mmappedMB: Double
    public var arenas: Int
    /// Of the heap in use, what SQLite holds (page caches, statements), from `sqlite3_memory_used`.
    public var sqliteMB: Double

    private typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
    private static let mallocInfo: MallocInfo? = dlsym(dlopen(nil, RTLD_NOW), "malloc_info")
        .map { unsafeBitCast($0, to: MallocInfo.self) }

    public static func read() -> HeapUsage? {
        guard let mallocInfo else { return nil }
        var buffer: UnsafeMutablePointer<CChar>?
        var length = 0
        guard let file = open_memstream(&buffer, &length) else { return nil }
        let status = mallocInfo(0, file)
        fclose(file)
        defer { free(buffer) }
        guard status == 0, let buffer else { return nil }
        let xml = String(cString: buffer)
        // The totals over all arenas follow the last </heap>.
        guard let tail = xml.range(of: "</heap>", options: .backwards).map({ xml[$0.upperBound...] }) else { return nil }
        func megabytes(_ tag: String) -> Double {
            guard let r = tail.range(of: tag), let q = tail[r.upperBound...].range(of: "size=\""),
                  let end = tail[q.upperBound...].firstIndex(of: "\"") else { return 0 }
            return (Double(tail[q.upperBound..<end]) ?? 0) / 1_048_576
        }
        let free = megabytes("<total type=\"fast\"") + megabytes("<total type=\"rest\"")
        return HeapUsage(inUseMB: megabytes("<system type=\"current\"") - free, freeMB: free,
                         mmappedMB: megabytes("<total type=\"mmap\""), arenas: xml.components(separatedBy: "<heap nr=").count - 1,
                         sqliteMB: Double(AuditStore.memoryUsedBytes) / 1_048_576)
    }
}
