import BackendTLS
import NIOCore
import NIOHTTP1

typealias AdmissionEvaluatorEndpoint = AdmissionEvaluator.Endpoint

/// Serves `/validate` and `/mutate` on one HTTP/1.1 connection or one HTTP/2 stream (behind
/// `HTTP2FramePayloadToHTTP1ServerCodec`), synchronously on the event loop: the work is short and CPU-only,
/// so a task hop would only add latency (DESIGN.md).
final class AdmissionHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Fired from the pipeline's head so the byte-level `RequestDeadlineHandler` sees the request cycle.
    enum CycleEvent: Sendable {
        case headReceived
        case requestComplete
    }

    private let service: AdmissionService
    private var machine: StateMachine
    private var body: ByteBuffer?
    /// HTTP/2 streams time their own requests; HTTP/1 connections use `RequestDeadlineHandler`.
    private let streamReadTimeout: TimeAmount?
    private var timeout: Scheduled<Void>?
    /// Set when the connection goes while a deferred answer is still being prepared.
    private var removed = false

    init(service: AdmissionService, limits: WebhookConfiguration.Limits, streamReadTimeout: TimeAmount? = nil) {
        self.service = service
        self.machine = StateMachine(
            maximumBodyBytes: limits.maximumBodyBytes, maximumHeaderBytes: limits.maximumHeaderBytes)
        self.streamReadTimeout = streamReadTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            context.pipeline.fireUserInboundEventTriggered(CycleEvent.headReceived)
            let headerBytes = head.headers.reduce(head.uri.utf8.count) {
                $0 + $1.name.utf8.count + $1.value.utf8.count + 4
            }
            let action = machine.head(
                route: service.route(method: head.method.rawValue, path: head.uri),
                contentLength: head.headers.first(name: "content-length").flatMap { Int($0) },
                headerBytes: headerBytes,
                keepAlive: head.isKeepAlive)
            if case .none = action {
                body = context.channel.allocator.buffer(capacity: min(machine.maximumBodyBytes, 16 << 10))
                if let streamReadTimeout {
                    timeout = context.eventLoop.assumeIsolated().scheduleTask(in: streamReadTimeout) { [weak self] in
                        guard let self else { return }
                        self.perform(self.machine.timedOut(), context: context)
                    }
                } else if head.version == .http1_1,
                    head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" })
                {
                    // The client holds its body until it hears this (curl does so for large bodies, for a second),
                    // and a request that will be refused has been answered by now instead.
                    context.writeAndFlush(
                        wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                        promise: nil)
                }
            }
            perform(action, context: context)
        case .body(var chunk):
            let action = machine.body(count: chunk.readableBytes)
            if case .accumulate = action { body?.writeBuffer(&chunk) }
            perform(action, context: context)
        case .end:
            perform(machine.end(), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is CycleEvent { return }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Decoder errors (malformed HTTP) arrive here after JSONProtocolErrorHandler has answered 400.
        context.close(promise: nil)
    }

    private func perform(_ action: StateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none, .accumulate:
            return
        case .refuse(let status, let message):
            cancelTimeout()
            body = nil
            let answer: AdmissionService.Answer =
                message.hasPrefix("{")
                ? .init(status: status, body: Array(message.utf8)) : service.error(status, message)
            write(answer, keepAlive: false, context: context)
        case .process(let endpoint, let keepAlive):
            cancelTimeout()
            context.pipeline.fireUserInboundEventTriggered(CycleEvent.requestComplete)
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            deliver(service.respond(endpoint: endpoint, body: bytes), keepAlive: keepAlive, context: context)
        }
    }

    /// Answers in order without a queue of our own: on HTTP/1.1 `HTTPServerPipelineHandler` holds a pipelined
    /// request back until the previous response has ended, and an HTTP/2 stream carries one request.
    private func deliver(_ reply: AdmissionService.Reply, keepAlive: Bool, context: ChannelHandlerContext) {
        switch reply {
        case .now(let answer):
            write(answer, keepAlive: keepAlive, context: context)
        case .later(let work):
            let answer = context.eventLoop.makePromise(of: AdmissionService.Answer.self)
            answer.completeWithTask { await work() }
            answer.futureResult.assumeIsolated().whenSuccess { [self] answer in
                // The connection may have gone while the store was fetching; then there is no one to answer.
                guard !self.removed else { return }
                self.write(answer, keepAlive: keepAlive, context: context)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        cancelTimeout()
    }

    private func cancelTimeout() {
        timeout?.cancel()
        timeout = nil
    }

    private func write(_ answer: AdmissionService.Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(answer.body.count))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: answer.body.count)
        buffer.writeBytes(answer.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}
