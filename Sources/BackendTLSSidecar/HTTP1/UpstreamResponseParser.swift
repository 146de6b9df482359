import NIOCore
import NIOHTTP1

/// Reads a backend's HTTP/1.1 responses from the bytes of its connection (RFC 9112), strictly.
///
/// NIO's response decoder (llhttp behind a message-to-byte handler, a write observer to learn each request's
/// method, and an event through the pipeline per part) cost about a tenth of HTTP mode's work per request. This
/// parser is told each request's method by the proxy and hands over body bytes as slices of what was read.
///
/// A pooled connection serves one client after another, so a response framed wrongly would hand one client's
/// bytes to the next. Anything with more than one reading is refused (HTTP1Syntax), and the connection is then
/// closed: besides the field rules, a status line other than `HTTP/1.0` or `HTTP/1.1`, three digits and a space;
/// `Transfer-Encoding` in an HTTP/1.0 response; an HTTP/1.0 interim answer; bytes when no response is due.
struct UpstreamResponseParser {
    /// A part of a response: the head and trailers as they were read (HTTP1Part).
    typealias Event = HTTP1Part<UpstreamResponseHead>
    typealias Malformed = HTTP1Syntax.Malformed

    private var stream = HTTP1MessageStream(party: "backend", message: "response")
    /// The method of the request whose response is being read.
    private var method = HTTPMethod.GET
    /// Refused, or switched protocols: nothing more is read, and the connection must not serve another request.
    private var broken = false

    /// A request with `method` was sent: its response is next.
    mutating func expectResponse(to method: HTTPMethod) {
        self.method = method
        guard !broken else { return }
        stream.expectHead()
    }

    /// No request is waiting and nothing is half read or unread: the connection can serve another request.
    var isIdle: Bool { !broken && stream.isBetweenMessages }

    /// Takes what was read; `next()` hands out the parts it completes.
    mutating func receive(_ bytes: ByteBuffer) {
        stream.receive(bytes)
    }

    /// The next part of the response, or nil when more bytes are needed. One part per call: the caller hands it
    /// on between calls, and what it does then (closing the connection, whose close comes back at once on a
    /// plaintext connection) must not meet the parser in the middle of a parse. After a refusal nothing more is
    /// read.
    mutating func next() throws(Malformed) -> Event? {
        guard !broken else { return nil }
        do {
            guard let step = try stream.next() else { return nil }
            switch step {
            case .head(let block): return try begin(UpstreamResponseHead.read(block).get())
            case .body(let bytes): return .body(bytes)
            case .end(let trailers):
                stream.refuseBytes()
                return .end(trailers)
            }
        } catch {
            broken = true
            stream.stop()
            throw error
        }
    }

    /// The backend closed the connection. - Returns: whether that ended a body that runs until the close
    /// (otherwise a response was cut short, or none was due).
    mutating func closed() -> Bool {
        !broken && stream.closed()
    }

    /// Nothing more is read (the connection failed).
    mutating func abandon() {
        broken = true
        stream.stop()
    }

    private mutating func begin(_ head: UpstreamResponseHead) throws(Malformed) -> Event {
        let code = head.code
        if code == 101 {
            // The proxy refuses it; nothing after it is HTTP.
            abandon()
            return .head(head)
        }
        let framing = try HTTP1Syntax.framing(of: head.lines, party: "backend")
        if framing.chunked || framing.codings, head.version != .http1_1 {
            throw HTTP1Syntax.fail("the backend sent Transfer-Encoding in an HTTP/1.0 response")
        }
        if (100..<200).contains(code) {
            // An interim answer: the final one follows. HTTP/1.0 has none (llhttp reads one as the last message).
            guard head.version == .http1_1 else {
                throw HTTP1Syntax.fail("the backend sent an HTTP/1.0 interim answer")
            }
            stream.expectHead()
        } else if method.isHEAD || code == 204 || code == 304 {
            stream.startBody(.none)
        } else {
            // No length, or codings without chunked: the body runs until the backend closes.
            stream.startBody(.init(chunked: framing.chunked, length: framing.length, otherwise: .untilClose))
        }
        return .head(head)
    }
}
