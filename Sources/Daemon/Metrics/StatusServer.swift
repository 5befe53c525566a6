import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1 server (swift-nio) for `/metrics` (Prometheus text) and `/healthz` (JSON; 503 when failing).
/// It listens on 127.0.0.1 by default: metrics are for the local collector, not the plant network.
public final class StatusServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The port actually bound (differs from the configured one when that was 0).
    public let port: Int

    /// Binds `host:port` and serves until `shutdown()`. Throws when the address cannot be bound.
    public init(host: String, port: Int, metrics: PipelineMetrics, health: PipelineHealth) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(StatusHandler(metrics: metrics, health: health))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw DaemonError("metrics.listen: cannot listen on \(host):\(port): \(error)")
        }
        self.group = group
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening and closes connections.
    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Answers one request at a time on a connection.
private final class StatusHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: PipelineMetrics
    private let health: PipelineHealth
    private var request: HTTPRequestHead?

    init(metrics: PipelineMetrics, health: PipelineHealth) { self.metrics = metrics; self.health = health }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, type, body) = respond(to: head)
            var headers = HTTPHeaders([("Content-Type", type), ("Content-Length", String(body.utf8.count))])
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status,
                                                                 headers: headers))), promise: nil)
            if head.method != .HEAD {
                var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
                buffer.writeString(body)
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }

    private func respond(to head: HTTPRequestHead) -> (HTTPResponseStatus, String, String) {
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "text/plain", "only GET\n")
        }
        switch head.uri.split(separator: "?").first.map(String.init) ?? "" {
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics.exposition())
        case "/healthz":
            let report = health.report()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = (try? encoder.encode(report)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
            return (report.status == "ok" ? .ok : .serviceUnavailable, "application/json", json + "\n")
        default:
            return (.notFound, "text/plain", "not found: try /metrics or /healthz\n")
        }
    }
}
