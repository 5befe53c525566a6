import Foundation
#if canImport(Glibc)
import Glibc
#endif
// <sys/socket.h>'s SOCK_STREAM belongs to the first clang module that includes the header; in this target, with
// libmodbus's and libmosquitto's module maps beside Glibc, that is CModbus (whose shim includes it).
import CModbus

/// A minimal HTTP/1.1 client on one keep-alive TCP connection to the loopback address, for `inspectd bench
/// http`: requests with a body and `Content-Length` answers only, so the figures hold no client library's
/// overhead. Reconnects once when the server closed the connection.
final class BenchHTTPConnection {
    private let port: Int
    private var fd: Int32 = -1

    /// Connects to 127.0.0.1:`port`.
    init(port: Int) throws {
        self.port = port
        try open()
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends `method path` with `body` and returns the status and body of the answer.
    func request(_ method: String, _ path: String, body: Data = Data(), contentType: String? = nil) throws -> (status: Int, body: Data) {
        do { return try exchange(method, path, body, contentType) } catch {
            close(fd); fd = -1
            try open()
            return try exchange(method, path, body, contentType)
        }
    }

    private func open() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func exchange(_ method: String, _ path: String, _ body: Data, _ contentType: String?) throws -> (status: Int, body: Data) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        try send(Data((head + "\r\n").utf8) + body)
        var received = Data()
        let separator = Data("\r\n\r\n".utf8)
        var end = received.range(of: separator)
        while end == nil { try receive(into: &received); end = received.range(of: separator) }
        let lines = String(decoding: received[..<end!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure("not an HTTP answer: \(lines[0])") }
        var length: Int?
        for line in lines.dropFirst() {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) }
            if lower.hasPrefix("transfer-encoding:") { throw Failure("a chunked answer (not read by this client)") }
        }
        guard let length else { throw Failure("an answer without Content-Length") }
        var rest = Data(received[end!.upperBound...])
        while rest.count < length { try receive(into: &rest) }
        return (status, Data(rest.prefix(length)))
    }

    private func send(_ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw Failure("send: \(String(cString: strerror(errno)))") }
                offset += n
            }
        }
    }

    private func receive(into data: inout Data) throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw Failure(n == 0 ? "the server closed the connection" : "recv: \(String(cString: strerror(errno)))") }
        data.append(contentsOf: chunk[0..<n])
    }

    /// A request failed (named).
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
