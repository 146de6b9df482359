import Logging
import NIOCore
import NIOHTTP1

/// The response side of an exchange: the upstream's answer relayed to the client, and every way an exchange ends
/// (the response's end, a refusal, an abandoned upstream), with what the client connection does next.
extension HTTPProxyHandler {
    // MARK: Response (called by UpstreamResponseRelay on the shared event loop)

    func upstreamResponse(_ part: UpstreamResponseParser.Event, from upstream: any Channel) {
        guard let context, case .forwarding(let forwarding) = state, forwarding.upstream === upstream else { return }
        switch part {
        case .head(let head):
            // One binding for the three kinds of head: a binding per `case … where` copied the head each time.
            upstreamHead(head, forwarding: forwarding, context: context)
        case .body(let buffer):
            // Flushed when the upstream read burst ends (or at `.end`): one write syscall per response, not per part.
            responseEncoder.writeBody(buffer, context: context)
            pauseUpstreamIfClientIsFull(forwarding, context: context)
        case .end(let trailers):
            forwarding.relay.proxy = nil
            // Back-pressure may have paused either side; a pooled connection must be able to read again.
            if forwarding.upstreamPaused { setAutoRead(true, upstream) }
            resumeReading(context: context)
            // A connection whose request body was not fully sent cannot frame the next request: close it.
            if forwarding.reusable && forwarding.requestEnded {
                pool.checkin(upstream, relay: forwarding.relay, slot: forwarding.slot)
            } else {
                upstream.close(promise: nil)
            }
            finishResponse(
                trailers: trailers, keepAlive: forwarding.keepAlive, requestEnded: forwarding.requestEnded,
                context: context)
        }
    }

    private func upstreamHead(_ head: UpstreamResponseHead, forwarding: Forwarding, context: ChannelHandlerContext) {
        if head.code == 101 {
            // No upgrade is ever forwarded, so the backend broke the protocol; the connection is no longer HTTP.
            abandon(
                forwarding,
                because: ProxyFailure(
                    status: 502, reason: "upstream_protocol", policy: nil,
                    message: "the backend switched protocols (101) though no upgrade was asked for"),
                context: context)
        } else if head.code / 100 == 1 {
            // An interim answer (100 Continue to `Expect`): passed on, except to HTTP/1.0 clients, which
            // must not get one (RFC 9110 15.2); the final answer follows.
            guard !forwarding.http10Client else { return }
            responseEncoder.write(
                responseEncoder.interimHead(head, allocator: ClientResponseEncoder.allocator), context: context)
            context.flush()
        } else if forwarding.http10Client, let coding = codingAnHTTP10ClientCannotBeToldOf(head) {
            abandon(
                forwarding,
                because: ProxyFailure(
                    status: 502, reason: "upstream_protocol", policy: nil,
                    message:
                        "the backend applied transfer coding \(coding) to its answer, which an HTTP/1.0 client cannot "
                        + "be told of (HTTP/1.0 has no Transfer-Encoding); the request offered no transfer codings"),
                context: context)
        } else {
            forwarding.responseStarted = true
            forwarding.reusable = head.keepsAlive
            responseEncoder.writeFinalHead(head, keepAlive: &forwarding.keepAlive, context: context)
            memo.countRequest(code: Int(head.code), metrics: environment.metrics)
        }
    }

    /// A transfer coding besides chunked on an answer with a body. No request asks for one (the sidecar drops
    /// `TE`), so a backend that applies one anyway breaks the protocol; an HTTP/1.1 client is told of it in
    /// `Transfer-Encoding`, an HTTP/1.0 client could only get the coded bytes as if they were the body.
    private func codingAnHTTP10ClientCannotBeToldOf(_ head: UpstreamResponseHead) -> String? {
        guard responseEncoder.answerHasBody(code: head.code), let coding = head.lines.codingsBesideChunked.first
        else { return nil }
        return head.lines.text(coding)
    }

    func upstreamClosed(_ upstream: any Channel, error: (any Error)?) {
        guard let context, case .forwarding(let forwarding) = state, forwarding.upstream === upstream else { return }
        abandon(
            forwarding,
            because: ProxyFailure(
                status: 502, reason: "upstream_closed", policy: nil,
                message: "the backend closed the connection before responding\(error.map { ": \($0)" } ?? "")"),
            context: context)
    }

    /// Gives up an exchange (a broken upstream, or a request the parser cut short): refused when nothing was
    /// answered yet, otherwise the client's connection is closed (a response cut short must not look
    /// complete).
    /// - Parameter lastAnswer: the refusal ends the connection (nothing more can be read from it).
    func abandon(
        _ forwarding: Forwarding, because failure: ProxyFailure, lastAnswer: Bool = false,
        context: ChannelHandlerContext
    ) {
        state = .idle
        forwarding.relay.proxy = nil
        forwarding.upstream.close(promise: nil)
        if forwarding.responseStarted {
            context.close(promise: nil)
        } else if lastAnswer {
            refuse(failure, keepAlive: false, requestEnded: true, context: context)
        } else {
            refuse(failure, keepAlive: forwarding.keepAlive, requestEnded: forwarding.requestEnded, context: context)
        }
    }

    func upstreamReadComplete(_ upstream: any Channel) {
        guard let context, case .forwarding(let forwarding) = state, forwarding.upstream === upstream else { return }
        forwarding.lastUpstreamRead = CoarseClock.now()
        responseEncoder.writeHeld(context: context)
        context.flush()
        // What was held is counted now: the client may be full.
        pauseUpstreamIfClientIsFull(forwarding, context: context)
    }

    /// Back-pressure: the upstream stops being read while the client cannot take more (writability resumes it).
    private func pauseUpstreamIfClientIsFull(_ forwarding: Forwarding, context: ChannelHandlerContext) {
        guard !context.channel.isWritable, !forwarding.upstreamPaused,
            case .forwarding(let current) = state, current === forwarding
        else { return }
        forwarding.upstreamPaused = true
        setAutoRead(false, forwarding.upstream)
    }

    func upstreamWritabilityChanged(_ upstream: any Channel) {
        guard let context, upstream.isWritable else { return }
        resumeReading(context: context)
    }

    // MARK: Refusals

    /// - Parameter requestEnded: the request's end already arrived (refusals after an async connect), so the
    ///   connection must not wait for it.
    func refuse(
        _ failure: ProxyFailure, keepAlive: Bool, requestEnded: Bool = false, context: ChannelHandlerContext
    ) {
        environment.logger.warning(
            "refused",
            metadata: [
                "status": "\(failure.status)", "reason": "\(failure.reason)", "detail": "\(failure.headerValue)",
            ])
        memo.countRequest(code: failure.status, metrics: environment.metrics)
        responseEncoder.writeOwnHead(failure.responseHead(keepAlive: keepAlive), context: context)
        responseEncoder.writeBody(ByteBuffer(string: failure.body), context: context)
        finishResponse(trailers: nil, keepAlive: keepAlive, requestEnded: requestEnded, context: context)
    }

    /// Ends the response: the rest of an unfinished request is discarded, and a connection that does not
    /// stay alive is closed once the end is written.
    private func finishResponse(
        trailers: HTTP1Trailers?, keepAlive: Bool, requestEnded: Bool, context: ChannelHandlerContext
    ) {
        if requestEnded, keepAlive {
            state = .idle
            noteClientActivity()
            responseEncoder.writeEnd(trailers: trailers, promise: nil, context: context)
            context.flush()
            // A tail of the answer the kernel did not take yet is watched too, not left to the idle timeout. Asking
            // NIO what waits costs a tenth of a microsecond: it is asked once per 16 KiB of answers, so small
            // answers, whose tail would be small too, leave it to the idle timeout.
            if responseEncoder.bytesQueued &- queuedAtLastLook >= 16 << 10 {
                queuedAtLastLook = responseEncoder.bytesQueued
                watchSending(context: context)
            }
            replayPipelined(context: context)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        responseEncoder.writeEnd(trailers: trailers, promise: written, context: context)
        context.flush()
        if requestEnded || !keepAlive {
            // Closing: the rest of an unfinished request is read and dropped while the connection lingers (for
            // 30 s at most), not for as long as the client goes on sending.
            close(after: written.futureResult, context: context)
        } else {
            state = .discarding(keepAlive: keepAlive, answered: written.futureResult)
            // The rest of the request is read and dropped, even if an upload had paused reading.
            resumeReading(context: context)
        }
    }
}
