import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Hands the heap's free pages back to the system once a minute (glibc `malloc_trim(0)`, which since 2.8 also
/// releases free pages inside the arenas, not only at their tops).
///
/// Why: under the HTTP soak (`inspectd bench http --soak`) the heap in use stayed flat while glibc kept a growing
/// amount of freed memory in its per-thread arenas (`inspectd_memory_bytes{kind="heap_free"}` climbing about 1 MiB
/// a minute), and resident memory climbed with it: request bodies, JPEGs and JSON documents of varying sizes
/// freed on other threads than the ones that allocated them. Trimming keeps RSS a measure of what the daemon
/// holds. Looked up at run time: other C libraries have no `malloc_trim`.
final class HeapTrimmer {
    private typealias Trim = @convention(c) (Int) -> Int32
    private static let trim: Trim? = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim").map { unsafeBitCast($0, to: Trim.self) }
    private let timer: DispatchSourceTimer

    init(everySeconds seconds: Int = 60) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "inspectd.heap-trim", qos: .utility))
        timer.schedule(deadline: .now() + .seconds(seconds), repeating: .seconds(seconds), leeway: .seconds(1))
        timer.setEventHandler { _ = Self.trim?(0) }
        timer.resume()
    }

    func stop() { timer.cancel() }
}

/// glibc's malloc arenas, limited for a daemon that runs for months: `inspectd run` calls ``limitArenas()``
/// before it starts any thread.
///
/// Why: glibc gives threads up to 8 arenas per core; each keeps its own free chunks at its own high-water mark, so
/// resident memory climbs until every arena has seen its worst mix of request sizes. Under the HTTP soak that
/// took 10-12 minutes (then flat for the 50 minutes after), so a 10-minute soak could not tell it from a leak.
/// Fewer arenas reach their high-water mark sooner and hold less in all; with 2 cores, contention for them is
/// no cost worth measuring.
public enum HeapArenas {
    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    private static let mallopt: Mallopt? = dlsym(dlopen(nil, RTLD_NOW), "mallopt").map { unsafeBitCast($0, to: Mallopt.self) }
    /// glibc's `M_ARENA_MAX`.
    private static let arenaMax: Int32 = -8

    /// The arenas allowed: one per core, at least 2, at most 8.
    public static var limit: Int { max(2, min(ProcessInfo.processInfo.activeProcessorCount, 8)) }

    /// Applies ``limit``; false where the C library has no `mallopt` or refuses it.
    @discardableResult
    public static func limitArenas() -> Bool { mallopt.map { $0(arenaMax, Int32(limit)) == 1 } ?? false }
}

