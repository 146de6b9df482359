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
        /// `lastFour`: the last bytes of the head so far, to find its end (CRLF CRLF) across reads.
        case readingHead(bytes: Int, lastFour: UInt32)
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
        if case .idle = state {
            state = .readingHead(bytes: 0, lastFour: 0)
            armDeadline(context: context)
        }
        if case .readingHead(let bytes, let lastFour) = state {
            // Only the head's bytes count: TLS hands over whatever one socket read decrypted, which may be a whole
            // request, body included (or many pipelined ones).
            let (headBytes, ended, window) = Self.scanHead(unwrapInboundIn(data), after: lastFour)
            // A backstop for heads trickled in (the decoder answers 431 with the exact limit): twice the limit.
            guard bytes + headBytes <= maximumHeaderBytes * 2 else {
                return refuse(context: context, code: 431, status: "431 Request Header Fields Too Large")
            }
            state = ended ? .readingBody : .readingHead(bytes: bytes + headBytes, lastFour: window)
        }
        context.fireChannelRead(data)
    }

    /// How many of `buffer`'s bytes belong to the head, whether it ends in them, and the last four bytes seen.
    private static func scanHead(_ buffer: ByteBuffer, after lastFour: UInt32) -> (Int, Bool, UInt32) {
        buffer.withUnsafeReadableBytes { bytes in
            var window = lastFour
            for (offset, byte) in bytes.enumerated() {
                window = window << 8 | UInt32(byte)
                if window == 0x0D0A_0D0A { return (offset + 1, true, window) }
            }
            return (bytes.count, false, window)
        }
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
