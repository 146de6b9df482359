import BackendTLSServerSupport
import NIOCore

/// Byte-level guard for HTTP/1.1 connections: a request, once its first byte arrives, must be complete
/// within the read timeout, and its headers must fit the header limit.
///
/// It sits below the HTTP decoder, so it also catches clients that trickle header bytes (slowloris), which
/// the decoder alone would wait for forever. `AdmissionHTTPHandler` reports the request cycle through
/// `CycleEvent`s fired from the pipeline's head.
final class RequestDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case readingHead(bytes: Int)
        case readingBody
    }

    private let readTimeout: TimeAmount
    private let maximumHeaderBytes: Int
    /// Counts refusals made here (below HTTP, so they never reach `AdmissionService`).
    private let onRefusal: @Sendable (Int) -> Void
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    init(readTimeout: TimeAmount, maximumHeaderBytes: Int, onRefusal: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.readTimeout = readTimeout
        self.maximumHeaderBytes = maximumHeaderBytes
        self.onRefusal = onRefusal
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        switch state {
        case .idle:
            state = .readingHead(bytes: count)
            armDeadline(context: context)
        case .readingHead(let bytes):
            state = .readingHead(bytes: bytes + count)
        case .readingBody:
            break
        }
        // Headers are counted at TLS-record granularity: well-formed heads under the limit never trip this.
        if case .readingHead(let bytes) = state, bytes > maximumHeaderBytes * 2 {
            return refuse(context: context, code: 431, status: "431 Request Header Fields Too Large")
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event as? AdmissionHTTPHandler.CycleEvent {
        case .headReceived?:
            state = .readingBody
            // A pipelined request whose head arrived with the previous one's bytes has no deadline yet.
            if deadline == nil { armDeadline(context: context) }
        case .requestComplete?:
            deadline?.cancel()
            deadline = nil
            state = .idle
        case nil:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The whole request must arrive within `readTimeout` of its first byte, or it is answered 408.
    private func armDeadline(context: ChannelHandlerContext) {
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: readTimeout) { [weak self] in
            self?.refuse(context: context, code: 408, status: "408 Request Timeout")
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    /// Answers below HTTP (the decoder may hold a half-parsed request) and closes.
    private func refuse(context: ChannelHandlerContext, code: Int, status: String) {
        onRefusal(code)
        deadline?.cancel()
        deadline = nil
        let body = #"{"error":"\#(status)"}"#
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeString(
            "HTTP/1.1 \(status)\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)"
        )
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil)
        }
    }
}
