import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A test stand-in for systemd's notify socket: an AF_UNIX datagram socket, abstract ("@name") or a file.
final class NotifySocket {
    let path: String
    private let fd: Int32

    /// Binds a new socket; `abstract` uses the Linux abstract namespace as systemd does.
    init(abstract: Bool) throws {
        let name = "inspectd-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        path = abstract ? "@" + name : NSTemporaryDirectory() + name + ".sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit {
        close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    /// Receives datagrams until one contains `line` (as a whole line); returns all received, or nil on timeout or
    /// as soon as `givingUp` says so (checked at least every half second: e.g. the service has exited).
    func waitFor(_ line: String, timeout: Double, givingUp: () -> Bool = { false }) -> [String]? {
        let deadline = Date().addingTimeInterval(timeout)
        var seen: [String] = []
        while Date() < deadline && !givingUp() {
            guard let m = receive(timeout: min(0.5, deadline.timeIntervalSinceNow)) else { continue }
            seen.append(m)
            if m.split(separator: "\n").contains(Substring(line)) { return seen }
        }
        return nil
    }
}
