import NIOCore
import NIOHTTP1

/// Reads the responses of an upstream connection (UpstreamResponseParser) and hands their parts to the proxy
/// handler of the downstream connection that owns it. Interim answers (100 Continue) are handed on, not dropped:
/// a client that sent `Expect` waits for one before it sends the body.
final class UpstreamResponseRelay: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    /// The downstream connection this upstream currently serves; `nil` while pooled.
    weak var proxy: HTTPProxyHandler?
    private var parser = UpstreamResponseParser()
    /// The pool watches the connection's close once, from its first check-in on.
    var closeWatchedByPool = false

    /// Makes a new upstream connection speak HTTP/1.1 for HTTP mode. Requests are written to it as bytes
    /// (UpstreamRequestEncoder).
    static func install(on channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(UpstreamResponseRelay())
    }

    /// The relay of a pooled connection (every upstream connection of HTTP mode has one).
    static func installed(on channel: any Channel) -> UpstreamResponseRelay? {
        try? channel.pipeline.syncOperations.handler(type: UpstreamResponseRelay.self)
    }

    /// A request with `method` is being sent: its response is next.
    func expectResponse(to method: HTTPMethod) {
        parser.expectResponse(to: method)
    }

    /// Whether the connection may serve another request: its last response was read whole, and nothing
    /// followed it.
    var isReusable: Bool { parser.isIdle }

    /// Cleared by `channelInactive`: asking the channel took a lock-free load and two reference counts per part.
    private var active = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let channel = context.channel
        parser.receive(unwrapInboundIn(data))
        // Loaded once per read, and again after a response's end (which detaches the proxy): a weak load per part
        // cost more than parsing it. A proxy that has since let go of this connection ignores what it is handed.
        var proxy = self.proxy
        do {
            // A part at a time: handing it on may close this connection, whose close on a plaintext connection
            // comes back here (channelInactive) before the call returns.
            while active, let part = try parser.next() {
                proxy?.upstreamResponse(part, from: channel)
                if case .end = part { proxy = self.proxy }
            }
        } catch {
            self.proxy?.upstreamClosed(channel, error: error)
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        proxy?.upstreamReadComplete(context.channel)
        context.fireChannelReadComplete()
    }

    /// A body that runs until the close ends with it; any other response is cut short.
    func channelInactive(context: ChannelHandlerContext) {
        active = false
        if parser.closed() {
            proxy?.upstreamResponse(.end(nil), from: context.channel)
        }
        proxy?.upstreamClosed(context.channel, error: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Whatever the close brings is not a response's end (an unclean TLS shutdown may have cut the body).
        parser.abandon()
        proxy?.upstreamClosed(context.channel, error: error)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        proxy?.upstreamWritabilityChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }
}
