import NIOCore
import NIOHTTP1

/// Forwards upstream response parts to the proxy handler of the downstream connection that owns it.
final class UpstreamResponseRelay: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    /// The downstream connection this upstream currently serves; `nil` while pooled.
    weak var proxy: HTTPProxyHandler?

    /// Makes a new upstream connection speak HTTP/1.1 for HTTP mode. Request headers were validated when
    /// parsed from the app (see SidecarServer), so no outbound validation. Interim answers (100 Continue)
    /// are forwarded, not dropped: a client that sent `Expect` waits for one before it sends the body.
    static func install(on channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandlers([
            HTTPRequestEncoder(),
            ByteToMessageHandler(HTTPResponseDecoder(informationalResponseStrategy: .forward)),
            UpstreamResponseRelay(),
        ])
    }

    /// The relay of a pooled connection (every upstream connection of HTTP mode has one).
    static func installed(on channel: any Channel) -> UpstreamResponseRelay? {
        try? channel.pipeline.syncOperations.handler(type: UpstreamResponseRelay.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        proxy?.upstreamResponse(unwrapInboundIn(data), from: context.channel)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        proxy?.upstreamReadComplete(context.channel)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        proxy?.upstreamClosed(context.channel, error: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        proxy?.upstreamClosed(context.channel, error: error)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        proxy?.upstreamWritabilityChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }
}
