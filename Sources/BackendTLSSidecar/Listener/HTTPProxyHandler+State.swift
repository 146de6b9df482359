import NIOCore
import NIOHTTP1

/// What `HTTPProxyHandler` keeps per client connection between events.
extension HTTPProxyHandler {
    enum State {
        case idle
        /// Waiting for an upstream connection; request parts are held (downstream reads are paused).
        /// `buffered` holds the request's bytes for the backend; `ended` says whether its end is among them.
        case connecting(buffered: [ByteBuffer], ended: Bool, keepAlive: Bool)
        case forwarding(Forwarding)
        /// The answer was sent before the request ended (a refusal, or an early response); the rest of the
        /// request is dropped, and at its end the connection closes, unless keep-alive, once `answered` (the
        /// answer's last write) completes.
        case discarding(keepAlive: Bool, answered: EventLoopFuture<Void>)
        /// The last answer is written or being written, and the connection closes once it is; what the client
        /// sends meanwhile is dropped (a request after it must not reach the backend).
        case closing

        var isIdle: Bool {
            if case .idle = self { return true }
            return false
        }

        var isDiscarding: Bool {
            if case .discarding = self { return true }
            return false
        }

        var isClosing: Bool {
            if case .closing = self { return true }
            return false
        }
    }

    /// A class: the state is read on every request and response part, and copying a struct that holds the
    /// pool key (TLS settings included) retained every field each time.
    final class Forwarding {
        let upstream: any Channel
        let relay: UpstreamResponseRelay
        /// Where the connection goes back to (its key included).
        let slot: UpstreamConnectionPool.Slot
        /// The client connection stays open after this exchange.
        var keepAlive: Bool
        /// The client spoke HTTP/1.0, which has no chunked coding.
        let http10Client: Bool
        var responseStarted = false
        var requestEnded: Bool
        /// Request body written upstream since the last flush (flushed when the client's read burst ends).
        var unflushed = false
        /// The backend's response allows reuse (keep-alive).
        var reusable = true
        /// Reading from the upstream was paused for back-pressure (the client could not take more).
        var upstreamPaused = false
        /// The end of the last read burst from the backend that left the response unfinished (a whole small
        /// response ends in its first burst, and is never stamped): the upstream response timeout counts from it.
        var lastUpstreamRead: NIODeadline?

        init(
            upstream: any Channel, relay: UpstreamResponseRelay, slot: UpstreamConnectionPool.Slot, keepAlive: Bool,
            http10Client: Bool, requestEnded: Bool
        ) {
            self.upstream = upstream
            self.relay = relay
            self.slot = slot
            self.keepAlive = keepAlive
            self.http10Client = http10Client
            self.requestEnded = requestEnded
        }
    }
}

/// Back-pressure and pipelining switch reading on and off; the synchronous option (both channels share this
/// event loop) allocates no future per call, and reading already on stays on without a syscall.
func setAutoRead(_ on: Bool, _ channel: any Channel) {
    try? channel.syncOptions?.setOption(.autoRead, value: on)
}
