public import NIOCore

/// Closes a connection when `IdleStateHandler` reports it idle.
public final class IdleConnectionCloser: ChannelInboundHandler {
    public init() {}

    public typealias InboundIn = NIOAny

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

extension Duration {
    /// NIO's `TimeAmount` for a Swift `Duration`.
    public var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
