import BackendTLSServerSupport
import Logging
import NIOCore

/// Closing idle client connections. NIO's `IdleStateHandler` made a promise and a callback for every write to
/// time its completion, about a twentieth of the sidecar's work per request; the rule here needs only the time
/// of the client's last bytes and of the last exchange's end, checked by one timer per connection.
extension HTTPProxyHandler {
    /// The client sent bytes (a head in progress counts: the parser holds them until it is whole).
    func noteClientActivity() { lastActivity = .now() }

    /// Checks at `deadline`; rescheduled after each check while the connection is open.
    func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            guard context.channel.isActive else { return }
            let timeout = environment.configuration.timeouts.clientIdle.timeAmount
            // A request in flight or queued is not idle (a slow backend is the upstream timeouts' business).
            guard state.isIdle, pipelined.isEmpty else {
                return scheduleIdleCheck(at: .now() + timeout, context: context)
            }
            let due = lastActivity + timeout
            if due <= .now() {
                environment.logger.debug("closing an idle client connection")
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(at: due, context: context)
            }
        }
    }
}
