import BackendTLS
import BackendTLSServerSupport
import Logging
import NIOCore

/// How client connections end: idle ones and ones that take none of their answer are closed, and one that closes
/// after an answer lingers.
extension HTTPProxyHandler {
    /// After the last answer: how long the client may go without sending anything before the connection closes
    /// in full, and how long it may linger at most (nginx's `lingering_timeout` and `lingering_time`).
    static let lingerTimeout = TimeAmount.seconds(5)
    static let lingerTime = TimeAmount.seconds(30)

    // MARK: Idle

    /// The client sent bytes (a head in progress counts: the parser holds them until it is whole).
    func noteClientActivity() { lastActivity = CoarseClock.now() }

    /// Checks at `deadline` whether the connection has been idle too long, or its backend silent too long;
    /// rescheduled while it is open, at least every quarter of the upstream response timeout, so a backend that
    /// goes silent is given up between one and one and a quarter timeouts after its last bytes.
    ///
    /// NIO's `IdleStateHandler` made a promise and a callback for every write to time its completion, about a
    /// twentieth of the sidecar's work per request; this rule needs only the time of the client's last bytes
    /// and of the last exchange's end.
    func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let upstreamTimeout = environment.configuration.timeouts.upstreamResponse.timeAmount
        let latest = NIODeadline.now() + .nanoseconds(max(1, upstreamTimeout.nanoseconds / 4))
        closeCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: min(deadline, latest)) { [self] in
            guard context.channel.isActive else { return }
            if giveUpOnASilentBackend(context: context) { return }
            let timeout = environment.configuration.timeouts.clientIdle.timeAmount
            // A request in flight or queued is not idle (a slow backend is the upstream timeouts' business), except
            // while the client owes its body and the sidecar is reading: one already answered whose body is being
            // dropped, or one being forwarded (reading paused for back-pressure is the backend's slowness).
            let bodyOwed: Forwarding?
            if case .forwarding(let forwarding) = state, !forwarding.requestEnded, clientReading {
                bodyOwed = forwarding
            } else {
                bodyOwed = nil
            }
            // While part of an answer waits for the client, the send check decides (its timeout may be longer).
            guard state.isIdle || state.isDiscarding || bodyOwed != nil, pipelined.isEmpty, sendCheck == nil else {
                return scheduleIdleCheck(at: .now() + timeout, context: context)
            }
            let due = lastActivity + timeout
            guard due <= .now() else { return scheduleIdleCheck(at: due, context: context) }
            if let forwarding = bodyOwed {
                environment.logger.warning(
                    "the client stopped sending its request body", metadata: ["timeout": "\(timeout)"])
                abandon(
                    forwarding,
                    because: ProxyFailure(
                        status: 408, reason: "client_timeout", policy: nil,
                        message: "the request's body stopped coming for longer than --client-idle-timeout"),
                    lastAnswer: true, context: context)
            } else {
                environment.logger.debug("closing an idle client connection")
                context.close(promise: nil)
            }
        }
    }

    /// A request sent whole whose backend has sent nothing for `--upstream-response-timeout`, counted from the
    /// request's last bytes or the backend's last read, whichever is later: 504 if its answer has not begun, the
    /// client connection closed if it has. A backend paused for back-pressure is the client's slowness, which the
    /// send check judges. - Returns: whether it gave up.
    private func giveUpOnASilentBackend(context: ChannelHandlerContext) -> Bool {
        guard case .forwarding(let forwarding) = state, forwarding.requestEnded, !forwarding.upstreamPaused else {
            return false
        }
        let timeout = environment.configuration.timeouts.upstreamResponse
        let quietSince = max(lastActivity, forwarding.lastUpstreamRead ?? lastActivity)
        guard quietSince + timeout.timeAmount <= .now() else { return false }
        let upstream = "\(forwarding.slot.key.host):\(forwarding.slot.key.port)"
        environment.logger.warning(
            "the backend sent nothing for longer than the upstream response timeout",
            metadata: [
                "timeout": "\(timeout)", "upstream": "\(upstream)",
                "answerBegun": "\(forwarding.responseStarted)",
            ])
        abandon(
            forwarding,
            because: ProxyFailure(
                status: 504, reason: "upstream_timeout",
                policy: forwarding.slot.key.settings.map { "policy \($0.policy.namespacedName)" },
                message:
                    "the backend at \(upstream) sent nothing for \(timeout) after the request (--upstream-response-timeout)"
            ), context: context)
        // A connection that goes on (keep-alive, perhaps with a pipelined request started) is watched again; one
        // that closes with the refusal is the lingering check's.
        if context.channel.isActive, !state.isClosing {
            scheduleIdleCheck(at: .now() + environment.configuration.timeouts.clientIdle.timeAmount, context: context)
        }
        return true
    }

    // MARK: Send stalls

    /// Starts watching what waits to be written to the client, if anything does and no watch runs: when the
    /// connection backs up (NIO holds more than its high-water mark), when an answer ends, and when the connection
    /// closes after its last answer.
    ///
    /// A client of which nothing more could be written for `--client-send-timeout` is closed, with its backend
    /// connection, whose reading is paused meanwhile: nginx's `send_timeout`, which also counts from one write to
    /// the next. What was written is every byte handed to NIO for the client (which only grows) less NIO's count
    /// of those still waiting; any growth, however small, starts the wait over. The check looks every quarter of
    /// the timeout, so a client is closed between one and one and a quarter timeouts after its last write. The
    /// kernel takes more only once the client has read about half of its socket buffer, so a reader slower than
    /// that per timeout is cut, as nginx's would be.
    func watchSending(context: ChannelHandlerContext) {
        guard sendCheck == nil, let waiting = Self.bytesWaiting(context), waiting > 0 else { return }
        let now = NIODeadline.now()
        sendProgress = (now, responseEncoder.bytesQueued &- waiting)
        scheduleSendCheck(at: now + sendCheckInterval, context: context)
    }

    func stopWatchingSending() {
        sendCheck?.cancel()
        sendCheck = nil
    }

    private var sendCheckInterval: TimeAmount {
        .nanoseconds(max(1, environment.configuration.timeouts.clientSend.timeAmount.nanoseconds / 4))
    }

    private static func bytesWaiting(_ context: ChannelHandlerContext) -> Int? {
        try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
    }

    private func scheduleSendCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        sendCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            sendCheck = nil
            guard context.channel.isActive, let waiting = Self.bytesWaiting(context), waiting > 0 else { return }
            let timeout = environment.configuration.timeouts.clientSend.timeAmount
            let now = NIODeadline.now()
            let written = responseEncoder.bytesQueued &- waiting
            if written != sendProgress.written {
                // Some was taken: the wait starts over.
                sendProgress = (now, written)
            }
            guard sendProgress.since + timeout <= now else {
                return scheduleSendCheck(at: now + sendCheckInterval, context: context)
            }
            environment.logger.warning(
                "closing a client connection that took none of its answer",
                metadata: ["timeout": "\(timeout)", "waiting": "\(waiting) bytes"])
            context.close(promise: nil)
        }
    }

    // MARK: Closing after an answer

    /// Closes the connection once `answered` (the last answer's last write) completes, lingering as nginx does.
    ///
    /// A close at once would drop what is still to be written, and a full close while the client still sends
    /// (a request pipelined after the closing one, the rest of a refused body) makes the kernel reset the
    /// connection, which discards whatever of the answer the client has not read yet. So the sending side is
    /// shut down first (the client sees the answer's end), and what the client sends is read and dropped (never
    /// forwarded: a request after the closing one must not reach the backend) until it closes too, goes quiet for
    /// `lingerTimeout`, or `lingerTime` has passed.
    func close(after answered: EventLoopFuture<Void>, context: ChannelHandlerContext) {
        state = .closing
        // What is left of the answer must be taken before the connection can close.
        watchSending(context: context)
        pipelined.removeAll()
        setClientReading(true, context: context)
        answered.assumeIsolated().whenComplete { [self] written in
            guard case .success = written, context.channel.isActive else { return context.close(promise: nil) }
            let shutdown = context.eventLoop.makePromise(of: Void.self)
            context.close(mode: .output, promise: shutdown)
            shutdown.futureResult.assumeIsolated().whenComplete { [self] outcome in
                guard case .success = outcome else { return context.close(promise: nil) }
                closeCheck?.cancel()
                scheduleLingerCheck(until: .now() + Self.lingerTime, context: context)
            }
        }
    }

    private func scheduleLingerCheck(until end: NIODeadline, context: ChannelHandlerContext) {
        let next = min(lastActivity + Self.lingerTimeout, end)
        closeCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: next) { [self] in
            guard context.channel.isActive else { return }
            let now = NIODeadline.now()
            if now >= end || now >= lastActivity + Self.lingerTimeout {
                context.close(promise: nil)
            } else {
                scheduleLingerCheck(until: end, context: context)
            }
        }
    }
}
