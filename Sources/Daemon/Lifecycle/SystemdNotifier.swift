import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The systemd notify protocol, written directly (no libsystemd): datagrams of `KEY=VALUE` lines sent to the
/// AF_UNIX socket named by `$NOTIFY_SOCKET` ('@' = Linux abstract namespace). Without `$NOTIFY_SOCKET`
/// (not started by systemd) every call does nothing.
public final class SystemdNotifier: Sendable {
    /// The socket path from the environment, nil when not under systemd (or under another process's watch).
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1`, from `$WATCHDOG_USEC` when `$WATCHDOG_PID` is unset or ours.
    public let watchdogTimeout: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path.flatMap { $0.hasPrefix("/") || $0.hasPrefix("@") ? $0 : nil }
        let pidMatches = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if pidMatches, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogTimeout = .microseconds(Int64(clamping: usec))
        } else {
            watchdogTimeout = nil
        }
    }

    /// Sends one notification of one or more `KEY=VALUE` lines. Returns false if it could not be sent
    /// (the service manager is gone); the daemon keeps running either way.
    @discardableResult
    public func notify(_ fields: [String]) -> Bool {
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            if pathBytes.count < capacity { raw[pathBytes.count] = 0 }
        }
        // Abstract names are exactly as long as given (no terminating NUL); filesystem paths include it.
        let length = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + pathBytes.count
            + (pathBytes.first == 0 ? 0 : 1)
        let message = Array(fields.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: &address) { addressPointer in
            addressPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa,
                                                 socklen_t(length)) }
            }
        }
        return sent == message.count
    }

    /// `READY=1` with a status line: the model is loaded and the sources started.
    public func ready(status: String) { notify(["READY=1", "STATUS=\(status)"]) }

    /// A `STATUS=` line for `systemctl status`.
    public func status(_ text: String) { notify(["STATUS=\(text)"]) }

    /// `RELOADING=1` with the monotonic time, as systemd ≥ 253 requires and 252 accepts; send `ready` after.
    public func reloading() {
        notify(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())", "STATUS=reloading configuration"])
    }

    /// `STOPPING=1`.
    public func stopping() { notify(["STOPPING=1", "STATUS=stopping: finishing frames in flight"]) }

    /// `WATCHDOG=1`: the daemon is alive and making progress.
    public func watchdog() { notify(["WATCHDOG=1"]) }

    /// CLOCK_MONOTONIC in microseconds.
    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}
