import NIOCore
import NIOHTTP1
import NIOHTTP2

/// Answers malformed HTTP/1.1 (bad request line, bad or duplicate Content-Length, bad chunk sizes, …) with a
/// 400 whose JSON body names the problem, then closes: NIO's stock handler sends an empty 400, and every
/// answer of this server is JSON.
final class JSONProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInFlight = false
    private let service: AdmissionService

    init(service: AdmissionService) {
        self.service = service
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // A response already under way cannot be followed by another; the connection just closes.
        if !responseInFlight {
            let answer = service.error(400, "malformed HTTP request: \(error)")
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(answer.body.count))
            headers.add(name: "connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else {
            context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responseInFlight = true
        case .end: responseInFlight = false
        case .body: break
        }
        context.write(data, promise: promise)
    }
}

/// Closes an HTTP/2 connection after a connection-level error: NIOHTTP2 sends GOAWAY and passes the
/// error on, and without this the socket would stay open until the idle timeout.
final class CloseOnErrorHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Stream errors reset only their stream; other streams on the connection go on.
        guard !(error is NIOHTTP2Errors.StreamError) else { return }
        context.close(promise: nil)
    }
}
