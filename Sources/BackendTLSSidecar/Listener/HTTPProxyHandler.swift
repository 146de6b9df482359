import BackendTLS
import BackendTLSServerSupport
import Logging
import NIOCore
import NIOHTTP1

/// HTTP mode: one per downstream (app) connection. Each request names a Service by its authority; the
/// resolver decides TLS (with exactly the policy's settings), plaintext (no policy), or a refusal (502/503
/// with `x-backendtls-error`). Requests and responses stream with back-pressure; upstream connections are
/// pooled per settings.
final class HTTPProxyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let environment: SidecarEnvironment
    let pool: UpstreamConnectionPool
    var state = State.idle
    var context: ChannelHandlerContext?
    var memo = Memo()
    var responseEncoder = ClientResponseEncoder()
    var requestEncoder = UpstreamRequestEncoder()
    private var requestParser = ClientRequestParser()
    /// Parts of pipelined requests that arrived while an exchange was in flight, replayed in order when it
    /// ends. Reading pauses while any wait, so at most one read's worth is held. Unpipelined requests (the
    /// usual case) change no read interest: gating every request, as NIO's pipelining handler does, cost two
    /// `epoll_ctl` calls per request.
    var pipelined = CircularBuffer<ClientRequestParser.Event>()
    /// The parser refused the client's bytes: answered 400, and the connection closed, once the exchanges
    /// before the bad bytes are done (NIO's pipelining handler deferred it the same way).
    private var parseFailure: (any Error)?
    /// When the client last sent bytes or an exchange last ended (see HTTPProxyHandler+Closing.swift).
    var lastActivity = NIODeadline.now()
    /// The idle check, or once the connection is closing, the end of its lingering.
    var closeCheck: Scheduled<Void>?
    /// How much of what was handed to NIO for the client has been written, and since when no more has; the check
    /// that closes the connection if that lasts (see HTTPProxyHandler+Closing.swift).
    var sendProgress = (since: NIODeadline.now(), written: 0)
    /// `responseEncoder.bytesQueued` when an answer's end last looked for a tail waiting.
    var queuedAtLastLook = 0
    var sendCheck: Scheduled<Void>?
    /// Whether reading from the client is on, as last set: most requests would set it on again, and each
    /// change goes through the channel's options.
    private(set) var clientReading = true

    init(environment: SidecarEnvironment, pool: UpstreamConnectionPool) {
        self.environment = environment
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleIdleCheck(at: .now() + environment.configuration.timeouts.clientIdle.timeAmount, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeCheck?.cancel()
        closeCheck = nil
        stopWatchingSending()
    }

    /// Turns reading from the client on or off; nothing to do when it already is.
    func setClientReading(_ on: Bool, context: ChannelHandlerContext) {
        guard on != clientReading else { return }
        clientReading = on
        setAutoRead(on, context.channel)
        // The time not read counts as no one's idleness: the client's quiet is measured from here.
        if on { noteClientActivity() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Lingering after the last answer, what the client sends is dropped unread; after a refusal, nothing more
        // is read.
        if case .closing = state { return }
        guard parseFailure == nil else { return }
        requestParser.receive(unwrapInboundIn(data))
        do {
            // A part at a time: handling one may write, and a write that fails reads the connection again
            // (NIO), which comes back here before the call returns.
            while let part = try requestParser.next() { received(part, context: context) }
        } catch {
            refuseBytes(error, context: context)
        }
    }

    private func received(_ part: ClientRequestParser.Event, context: ChannelHandlerContext) {
        if case .closing = state { return }
        if !pipelined.isEmpty || (part.isHead && !state.isIdle) {
            if pipelined.isEmpty { setClientReading(false, context: context) }
            pipelined.append(part)
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: ClientRequestParser.Event, context: ChannelHandlerContext) {
        switch part {
        case .head(let head): start(head, context: context)
        case .body(let buffer): forward(.body(buffer), context: context)
        case .end(let trailers): forward(.end(trailers), context: context)
        }
    }

    /// Replays waiting pipelined parts once the exchange before them has ended: the next request's head
    /// and every part up to the head after it (which waits for that exchange in turn).
    func replayPipelined(context: ChannelHandlerContext) {
        guard !pipelined.isEmpty else {
            answerParseFailureWhenDue(context: context)
            // Reading may have been paused by the exchange that ended (an upload the backend could not take).
            return resumeReading(context: context)
        }
        // Not from inside the call that ended the exchange (often the upstream's read): next loop tick.
        context.eventLoop.assumeIsolated().execute { [self] in
            while let part = pipelined.first, !(part.isHead && !state.isIdle) {
                pipelined.removeFirst()
                handle(part, context: context)
            }
            flushUpstreamIfNeeded()
            answerParseFailureWhenDue(context: context)
            if context.channel.isActive { resumeReading(context: context) }
        }
    }

    /// Reading from the client resumes only when nothing holds it back: queued pipelined parts (replayed
    /// first), a connect in progress (its parts are held), a full upstream (writability resumes it), or a
    /// parse failure (nothing more is read).
    func resumeReading(context: ChannelHandlerContext) {
        guard pipelined.isEmpty, parseFailure == nil else { return }
        switch state {
        case .connecting, .closing: return
        case .forwarding(let forwarding) where !forwarding.upstream.isWritable: return
        default: setClientReading(true, context: context)
        }
    }

    /// Answers a parse failure once every exchange before it is done; an exchange the bad bytes cut short
    /// (its request can never end) is abandoned.
    private func answerParseFailureWhenDue(context: ChannelHandlerContext) {
        guard let error = parseFailure, pipelined.isEmpty, context.channel.isActive else { return }
        let failure = ProxyFailure(
            status: 400, reason: "bad_request", policy: nil, message: "the request is not valid HTTP/1.1: \(error)")
        switch state {
        case .idle:
            refuse(failure, keepAlive: false, requestEnded: true, context: context)
        case .connecting(_, let ended, _) where !ended:
            state = .idle
            refuse(failure, keepAlive: false, requestEnded: true, context: context)
        case .forwarding(let forwarding) where !forwarding.requestEnded:
            abandon(forwarding, because: failure, lastAnswer: true, context: context)
        case .discarding(_, let answered):
            close(after: answered, context: context)
        case .connecting, .forwarding, .closing:
            break  // its request is whole: answered when its response ends
        }
    }

    // MARK: Request

    private func start(_ head: ClientRequestHead, context: ChannelHandlerContext) {
        // After CONNECT the parser takes what follows for tunnel bytes, and NIO sends the refusal without a
        // body or length: only closing ends it.
        let keepAlive = head.keepsAlive && !head.method.isCONNECT
        let http10Client = head.version.major < 1 || (head.version.major == 1 && head.version.minor == 0)
        responseEncoder.startRequest(method: head.method, http10Client: http10Client)
        let target: Target
        switch memo.target(of: head, defaultNamespace: environment.configuration.namespace) {
        case .success(let parsed): target = parsed
        case .failure(let failure): return refuse(failure, keepAlive: keepAlive, context: context)
        }
        let slot: UpstreamConnectionPool.Slot
        switch memo.slot(for: target, environment: environment, pool: pool) {
        case .success(let routed): slot = routed
        case .failure(let failure): return refuse(failure, keepAlive: keepAlive, context: context)
        }
        let upstreamHead = requestEncoder.head(
            head, path: target.path, hostHeader: target.hostHeader, replaceHost: target.absoluteForm,
            allocator: ClientResponseEncoder.allocator)

        while let lent = pool.checkout(slot) {
            let pooled = lent.channel
            guard lent.relay.isReusable else {
                // Its last response was followed by bytes (refused, closing): never lent again.
                pooled.close(promise: nil)
                continue
            }
            let forwarding = attach(
                pooled, relay: lent.relay, slot: slot, method: head.method, keepAlive: keepAlive,
                http10Client: http10Client)
            // Flushed with the request's end, or when this read burst ends if the body is still to come (a
            // client waiting for 100 Continue sends nothing more until the backend has seen the head).
            pooled.write(upstreamHead, promise: nil)
            forwarding.unflushed = true
            return
        }
        state = .connecting(buffered: [upstreamHead], ended: false, keepAlive: keepAlive)
        // Only here, where a connection is made anyway: a slot the pool has let go of would close it at check-in.
        connect(memo.pooled(slot, pool: pool), method: head.method, http10Client: http10Client, context: context)
    }

    /// A new upstream connection for the slot's key; the request parts held meanwhile follow once it is verified.
    private func connect(
        _ slot: UpstreamConnectionPool.Slot, method: HTTPMethod, http10Client: Bool, context: ChannelHandlerContext
    ) {
        let key = slot.key
        setClientReading(false, context: context)
        environment.connector.connect(
            host: key.host, port: key.port, tls: key.settings, use: .http, on: context.eventLoop
        )
        .flatMap { channel in
            channel.eventLoop.makeCompletedFuture {
                try UpstreamResponseRelay.install(on: channel)
                return channel
            }
        }
        .assumeIsolated()
        .whenComplete { [self] result in
            guard case .connecting(let buffered, let ended, let keepAlive) = state else {
                // The client went away while we connected: nobody will use this connection.
                if case .success(let channel) = result { channel.close(promise: nil) }
                return
            }
            // The request may have ended while we connected.
            switch result {
            case .success(let channel):
                guard let relay = UpstreamResponseRelay.installed(on: channel) else {
                    // Closed since it was set up: its handlers are gone.
                    refuse(
                        ProxyFailure(
                            status: 502, reason: "upstream_closed", policy: nil,
                            message: "the backend closed the connection before the request was sent"),
                        keepAlive: keepAlive, requestEnded: ended, context: context)
                    break
                }
                attach(
                    channel, relay: relay, slot: slot, method: method, keepAlive: keepAlive,
                    http10Client: http10Client, requestEnded: ended)
                for part in buffered { channel.write(part, promise: nil) }
                channel.flush()
            case .failure(let error):
                let failure =
                    (error as? UpstreamConnector.ConnectFailure).map {
                        ProxyFailure.connect($0, policy: key.settings?.policy)
                    }
                    ?? ProxyFailure(status: 502, reason: "connect_failed", policy: nil, message: "\(error)")
                refuse(failure, keepAlive: keepAlive, requestEnded: ended, context: context)
            }
            resumeReading(context: context)
        }
    }

    /// Points the connection's relay (installed once per upstream connection) at this downstream.
    @discardableResult
    private func attach(
        _ upstream: any Channel, relay: UpstreamResponseRelay, slot: UpstreamConnectionPool.Slot, method: HTTPMethod,
        keepAlive: Bool, http10Client: Bool, requestEnded: Bool = false
    ) -> Forwarding {
        let forwarding = Forwarding(
            upstream: upstream, relay: relay, slot: slot, keepAlive: keepAlive, http10Client: http10Client,
            requestEnded: requestEnded)
        state = .forwarding(forwarding)
        relay.proxy = self
        relay.expectResponse(to: method)
        return forwarding
    }

    private func forward(_ part: ClientRequestParser.Event, context: ChannelHandlerContext) {
        let allocator = ClientResponseEncoder.allocator
        switch state {
        case .connecting(var buffered, var ended, let keepAlive):
            switch part {
            case .body(let buffer): requestEncoder.body(buffer, allocator: allocator) { buffered.append($0) }
            case .end(let trailers):
                if let last = requestEncoder.end(trailers: trailers, allocator: allocator) { buffered.append(last) }
                ended = true
            case .head: break
            }
            state = .connecting(buffered: buffered, ended: ended, keepAlive: keepAlive)
        case .forwarding(let forwarding):
            let upstream = forwarding.upstream
            switch part {
            case .end(let trailers):
                forwarding.requestEnded = true
                forwarding.unflushed = false
                if let last = requestEncoder.end(trailers: trailers, allocator: allocator) {
                    upstream.write(last, promise: nil)
                }
                upstream.flush()
            case .body(let buffer):
                requestEncoder.body(buffer, allocator: allocator) { upstream.write($0, promise: nil) }
                forwarding.unflushed = true
                if !upstream.isWritable {
                    setClientReading(false, context: context)
                }
            case .head: break
            }
        case .discarding(let keepAlive, let answered):
            if case .end = part {
                if keepAlive {
                    state = .idle
                    replayPipelined(context: context)
                } else {
                    close(after: answered, context: context)
                }
            }
        case .idle, .closing:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Only what is still unflushed: a request's end was flushed with it, and each flush walks the upstream
        // pipeline (TLS included).
        flushUpstreamIfNeeded()
        noteClientActivity()
        context.fireChannelReadComplete()
    }

    private func flushUpstreamIfNeeded() {
        if case .forwarding(let forwarding) = state, forwarding.unflushed {
            forwarding.unflushed = false
            forwarding.upstream.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable {
            // On the next tick: this runs inside a write of the response encoder, which the watch reads.
            context.eventLoop.assumeIsolated().execute { [self] in watchSending(context: context) }
        }
        if context.channel.isWritable, case .forwarding(let forwarding) = state, forwarding.upstreamPaused {
            forwarding.upstreamPaused = false
            // The time paused was the client's slowness: the backend's silence counts from here.
            forwarding.lastUpstreamRead = CoarseClock.now()
            setAutoRead(true, forwarding.upstream)
        }
        context.fireChannelWritabilityChanged()
    }

    /// A parse failure stops reading and is answered when the exchanges before it are done (the parser cannot go
    /// on).
    private func refuseBytes(_ error: HTTP1Syntax.Malformed, context: ChannelHandlerContext) {
        environment.logger.debug("client sent bytes that are not valid HTTP/1.1", metadata: ["error": "\(error)"])
        parseFailure = error
        setClientReading(false, context: context)
        answerParseFailureWhenDue(context: context)
    }

    /// Any error of the connection itself (a reset) ends it.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        environment.logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeCheck?.cancel()
        closeCheck = nil
        stopWatchingSending()
        // Detached before the upstream is closed: a plaintext upstream's close comes back at once, and must not end
        // an exchange that no longer has a client.
        let ended = state
        state = .idle
        if case .forwarding(let forwarding) = ended {
            forwarding.relay.proxy = nil
            forwarding.upstream.close(promise: nil)
        }
        pipelined.removeAll()
        context.fireChannelInactive()
    }
}
