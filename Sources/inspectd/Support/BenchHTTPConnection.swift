import Foundation
#if canImport(Glibc)
import Glibc
#endif
// <sys/socket.h>'s SOCK_STREAM belongs to the first clang module that includes the header; in this target, with
// libmodbus's and libmosquitto's module maps beside Glibc, that is CModbus (whose shim includes it).
import CModbus

/// A minimal HTTP/1.1 client on one keep-alive TCP connection to the loopback address, for `inspectd bench
/// http`: answers with `Content-Length` or chunked, and streamed answers (Server-Sent Events), so the figures
/// hold no client library's overhead. A request reconnects once when the server closed the connection.
final class BenchHTTPConnection {
    private let port: Int
    private let timeout: Double?
    private var fd: Int32 = -1

    /// Connects to 127.0.0.1:`port`. With a `timeout` (seconds), a read that waits longer fails a request, and
    /// lets a stream's reader decide whether to go on.
    init(port: Int, timeout: Double? = nil) throws {
        self.port = port
        self.timeout = timeout
        try open()
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends `method path` with `body` (and `headers`) and returns the status and body of the answer.
    func request(_ method: String, _ path: String, body: Data = Data(), contentType: String? = nil,
                 headers: [(String, String)] = []) throws -> (status: Int, body: Data) {
        do { return try exchange(method, path, body, contentType, headers) } catch {
            disconnect()
            try open()
            return try exchange(method, path, body, contentType, headers)
        }
    }

    /// Sends `GET path` and hands the answer's body to `received` as it arrives (de-chunked), until it returns
    /// false, the answer ends or the server closes the connection; the connection is closed afterwards. With a
    /// `timeout`, `received` also gets empty data after each quiet `timeout`, so the reader can stop. Returns
    /// the status.
    func stream(_ path: String, headers: [(String, String)] = [], _ received: (Data) -> Bool) throws -> Int {
        defer { disconnect() }
        if fd < 0 { try open() }
        try send(Self.head("GET", path, length: 0, contentType: nil, headers))
        var data = Data()
        let (status, fields) = try readHead(&data)
        var chunked = fields.chunked ? ChunkedDecoder() : nil
        var left = fields.length ?? Int.max
        while true {
            let body: Data, finished: Bool
            if var decoder = chunked {
                (body, finished) = try decoder.feed(&data)  // keeps an incomplete chunk's head in `data`
                chunked = decoder
            } else {
                body = data.prefix(left)
                left -= body.count
                finished = left == 0
                data.removeAll(keepingCapacity: true)
            }
            guard received(body), !finished else { return status }
            do { try receive(into: &data) } catch let failure as Failure where failure.timedOut {
                guard received(Data()) else { return status }
            } catch let failure as Failure where failure.closed {
                return status
            }
        }
    }

    /// Closes the connection; the next request opens a new one.
    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
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
        guard connected == 0 else {
            let text = String(cString: strerror(errno))
            disconnect()
            throw Failure("connect to 127.0.0.1:\(port): \(text)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let timeout {
            var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    private static func head(_ method: String, _ path: String, length: Int, contentType: String?,
                             _ headers: [(String, String)]) -> Data {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(length)\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return Data((head + "\r\n").utf8)
    }

    private func exchange(_ method: String, _ path: String, _ body: Data, _ contentType: String?,
                          _ headers: [(String, String)]) throws -> (status: Int, body: Data) {
        if fd < 0 { try open() }
        try send(Self.head(method, path, length: body.count, contentType: contentType, headers) + body)
        var rest = Data()
        let (status, fields) = try readHead(&rest)
        if fields.chunked {
            var decoder = ChunkedDecoder(), out = Data()
            while true {
                let (piece, finished) = try decoder.feed(&rest)
                out.append(piece)
                if finished { return (status, out) }
                try receive(into: &rest)
            }
        }
        guard let length = fields.length else { throw Failure("an answer without Content-Length or chunked encoding") }
        while rest.count < length { try receive(into: &rest) }
        return (status, Data(rest.prefix(length)))
    }

    /// Reads up to the end of the answer's head; `data` keeps what came after it. Returns the status and the
    /// framing of the body.
    private func readHead(_ data: inout Data) throws -> (Int, (length: Int?, chunked: Bool)) {
        let separator = Data("\r\n\r\n".utf8)
        var end = data.range(of: separator), waits = 0
        while end == nil {
            // A stream's short timeout is for its reader between events: the answer's head may take longer.
            do { try receive(into: &data) } catch let failure as Failure where failure.timedOut && (timeout ?? 0) * Double(waits) < 60 {
                waits += 1
            }
            end = data.range(of: separator)
        }
        let lines = String(decoding: data[..<end!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        data = Data(data[end!.upperBound...])
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure("not an HTTP answer: \(lines[0])") }
        var length: Int?, chunked = false
        for line in lines.dropFirst() {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15).trimmingCharacters(in: .whitespaces)) }
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
        }
        return (status, (length, chunked))
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
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
            throw Failure("no answer within \(timeout ?? 0) s", timedOut: true)
        }
        guard n > 0 else {
            throw Failure(n == 0 ? "the server closed the connection" : "recv: \(String(cString: strerror(errno)))",
                          closed: n == 0)
        }
        data.append(contentsOf: chunk[0..<n])
    }

    /// `Transfer-Encoding: chunked`, decoded as the bytes come.
    private struct ChunkedDecoder {
        /// Bytes of the current chunk still to come (then its CRLF); nil: a size line is next.
        private var left: Int?

        /// Takes what it can decode from the front of `data`; `finished` once the last chunk and trailer are in.
        mutating func feed(_ data: inout Data) throws -> (body: Data, finished: Bool) {
            var out = Data()
            let crlf = Data("\r\n".utf8)
            while true {
                if let n = left {
                    guard data.count >= n + 2 else {
                        let take = min(n, data.count)
                        out.append(data.prefix(take))
                        data = Data(data.dropFirst(take))
                        left = n - take
                        return (out, false)
                    }
                    out.append(data.prefix(n))
                    data = Data(data.dropFirst(n + 2))
                    left = nil
                }
                guard let line = data.range(of: crlf) else { return (out, false) }
                let text = String(decoding: data[..<line.lowerBound], as: UTF8.self)
                guard let size = Int(text.split(separator: ";").first ?? "", radix: 16) else {
                    throw Failure("a bad chunk size line: \(text.prefix(40))")
                }
                if size == 0 {
                    // No trailers from this server: the last chunk is followed by one empty line.
                    guard data.count >= data.distance(from: data.startIndex, to: line.upperBound) + 2 else { return (out, false) }
                    data = Data()
                    return (out, true)
                }
                data = Data(data[line.upperBound...])
                left = size
            }
        }
    }

    /// A request failed (named).
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// No bytes arrived within the connection's timeout.
        var timedOut = false
        /// The server closed the connection.
        var closed = false
        init(_ description: String, timedOut: Bool = false, closed: Bool = false) {
            self.description = description; self.timedOut = timedOut; self.closed = closed
        }
    }
}
