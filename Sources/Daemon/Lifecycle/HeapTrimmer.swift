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
