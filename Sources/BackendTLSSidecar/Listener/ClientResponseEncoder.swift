import NIOCore
import NIOHTTP1

/// Writes responses to the app as bytes: the backend's head with its hop-by-hop headers dropped and framed for the
/// HTTP version the app spoke (the sidecar always speaks HTTP/1.1 to backends), and the sidecar's own refusals.
///
/// It does what NIO's `HTTPResponseEncoder` did after the head was rewritten, in the same pass: the rewrite
/// (hop-by-hop removal on a mutable header list), the encoder's own header adjustments and its pipeline step
/// cost a sixth of the sidecar's work per request. Framing follows that encoder: no body for 1xx, 204, 304
/// and CONNECT (their length headers dropped), `Content-Length` kept, otherwise chunked for HTTP/1.1 and
/// close-delimited for HTTP/1.0; the body of a response to HEAD is not written.
///
/// A final head is held until the answer's end, its next body part or a flush, and body parts of up to
/// `bodyCopyLimit` bytes are copied in after it: a small answer goes to NIO as one write. Each write through the
/// pipeline (and each buffer in the `writev`) cost more than copying a few KiB.
struct ClientResponseEncoder {
    /// The largest body part copied into a held head instead of written on its own.
    static let bodyCopyLimit = 4096
    /// No more is copied in once the held bytes reach this: what is held is not in NIO's count of waiting bytes, so
    /// the back-pressure check after each part does not see it.
    static let heldLimit = 16 << 10

    /// NIO's default allocator, which every channel of the sidecar uses: asking a channel for it took a call through
    /// the channel's protocol and two reference counts, three times per request.
    static let allocator = ByteBufferAllocator()

    /// The final head, and any small body parts copied in after it, not yet handed to NIO.
    private var held: ByteBuffer?
    /// The request being answered is HEAD or CONNECT: its response has no body, whatever its head says.
    private var suppressBody = false
    private var connect = false
    /// The request was HTTP/1.0: answers are too (no chunked coding), and confirm keep-alive (HTTP/1.0 closes
    /// otherwise).
    private var http10Client = false
    /// The body is written in chunks.
    private var chunked = false
    /// Every byte handed to NIO for the app so far: less NIO's count of bytes still waiting, what has reached the
    /// kernel. It only grows, so the send check (HTTPProxyHandler+Closing.swift) measures progress by it.
    private(set) var bytesQueued = 0

    /// Set when a request starts: what its response may carry. A head held for an answer that was cut short (its
    /// connection is closing) is dropped.
    mutating func startRequest(method: HTTPMethod, http10Client: Bool = false) {
        held = nil
        suppressBody = method.isHEAD || method.isCONNECT
        connect = method.isCONNECT
        self.http10Client = http10Client
    }

    /// Whether an answer with this status to the request being answered carries a body: not to HEAD or CONNECT,
    /// and not 1xx, 204 or 304.
    func answerHasBody(code: UInt) -> Bool {
        !suppressBody && !isBodiless(code: code)
    }

    /// A 1xx answer: passed on as HTTP/1.1, without hop-by-hop or length headers.
    func interimHead(_ head: UpstreamResponseHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: head.lines.bytes.readableBytes + 2)
        Self.writeStatusLine(of: head, http10: false, into: &buffer)
        Self.copyKeptFields(of: head.lines, framing: .none, into: &buffer)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// Holds the backend's final head for the app (see `finalHead`), to be written with what follows it.
    mutating func writeFinalHead(
        _ head: UpstreamResponseHead, keepAlive: inout Bool, context: ChannelHandlerContext
    ) {
        hold(finalHead(head, keepAlive: &keepAlive, allocator: Self.allocator), context: context)
    }

    /// Holds a head the sidecar made (a refusal; see `ownHead`), to be written with its body.
    mutating func writeOwnHead(_ head: HTTPResponseHead, context: ChannelHandlerContext) {
        hold(ownHead(head, allocator: Self.allocator), context: context)
    }

    /// The backend's final head for the app: its status line and the lines it keeps, as they came.
    /// - Parameter keepAlive: whether the app's connection stays open; cleared when only closing can end the body.
    mutating func finalHead(
        _ head: UpstreamResponseHead, keepAlive: inout Bool, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let hasContentLength = Self.hasContentLength(head.lines)
        let code = head.code
        // No chunked coding in HTTP/1.0: a body without a length is ended by closing the connection.
        if http10Client, !hasContentLength, code != 204, code != 304 { keepAlive = false }
        let framing = framing(code: code, hasContentLength: hasContentLength, http10: http10Client)

        var buffer = allocator.buffer(capacity: head.lines.bytes.readableBytes + 64)
        Self.writeStatusLine(of: head, http10: http10Client, into: &buffer)
        Self.copyKeptFields(of: head.lines, framing: framing, into: &buffer)
        if framing == .chunked {
            Self.writeChunkedCoding(after: head.lines, into: &buffer)
        }
        if http10Client, keepAlive { buffer.writeStaticString("connection: keep-alive\r\n") }
        if !keepAlive { buffer.writeStaticString("connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        chunked = framing == .chunked && !suppressBody
        return buffer
    }

    // The head's lines are passed as arguments, not bound to a local: a local was a copy (two references counted
    // up and down) per use.
    private static func hasContentLength(_ lines: HTTP1Head) -> Bool {
        lines.fields.contains { $0.known == .contentLength }
    }

    private static func copyKeptFields(of lines: HTTP1Head, framing: Framing, into buffer: inout ByteBuffer) {
        let hopByHop = HopByHopHeaders(lines)
        lines.copyFields(into: &buffer) { field in
            !hopByHop.contains(field, in: lines) && framing.keeps(field.known)
        }
    }

    /// A head the sidecar made (a refusal): written as it is, framed by the same rules.
    mutating func ownHead(_ head: HTTPResponseHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        let hasContentLength = head.headers.contains { HTTP1Head.KnownName($0.name) == .contentLength }
        let http10 = head.version == .http1_0 || http10Client
        let framing = framing(code: head.status.code, hasContentLength: hasContentLength, http10: http10)
        var buffer = allocator.buffer(capacity: 256)
        Self.writeStatusLine(head.status, http10: http10, into: &buffer)
        for (name, value) in head.headers where framing.keeps(HTTP1Head.KnownName(name)) {
            Self.writeHeader(name, value, into: &buffer)
        }
        if framing == .chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        // A head that does not close (`ProxyFailure.responseHead`) keeps the connection: an HTTP/1.0 client is told so.
        if http10, framing != .closeDelimited, !head.headers.contains(name: "connection") {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        chunked = framing == .chunked && !suppressBody
        return buffer
    }

    /// Hands bytes for the app to NIO, counted, after any held head.
    mutating func write(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>? = nil, context: ChannelHandlerContext) {
        writeHeld(context: context)
        send(bytes, promise: promise, context: context)
    }

    /// Writes a part of the body (nothing for a response that has none): copied after a held head when small.
    mutating func writeBody(_ part: ByteBuffer, context: ChannelHandlerContext) {
        guard !suppressBody, part.readableBytes > 0 else { return }
        if let heldBytes = held?.readableBytes, part.readableBytes <= Self.bodyCopyLimit, heldBytes <= Self.heldLimit {
            if chunked { Self.writeChunkSize(of: part, into: &held!) }
            held!.writeImmutableBuffer(part)
            if chunked { held!.writeStaticString("\r\n") }
            return
        }
        guard chunked else { return write(part, context: context) }
        var size = held ?? Self.allocator.buffer(capacity: 20)
        held = nil
        Self.writeChunkSize(of: part, into: &size)
        send(size, context: context)
        send(part, context: context)
        send(ByteBuffer.crlf, context: context)
    }

    /// Ends the body; `promise` completes once everything before it is written. The caller flushes (see `writeHeld`).
    mutating func writeEnd(trailers: HTTP1Trailers?, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        defer {
            chunked = false
            suppressBody = false
            connect = false
        }
        guard chunked else {
            // Nothing more to write, but the promise must complete after what came before it.
            if let head = held {
                held = nil
                send(head, promise: promise, context: context)
            } else if let promise {
                send(ByteBuffer(), promise: promise, context: context)
            }
            return
        }
        // Nil before the write, so that the buffer is not shared when written to (a copy).
        var last = held ?? Self.allocator.buffer(capacity: 64)
        held = nil
        last.writeStaticString("0\r\n")
        trailers?.copyForwardable(into: &last)
        last.writeStaticString("\r\n")
        send(last, promise: promise, context: context)
    }

    private mutating func hold(_ head: ByteBuffer, context: ChannelHandlerContext) {
        writeHeld(context: context)
        held = head
    }

    /// Writes what is held (before a flush). Nothing here flushes: a flush that fails closes the connection at once,
    /// and what that close runs (the upstream's close, which may end its response) comes back to this encoder, while
    /// the call that flushed would still be modifying it.
    mutating func writeHeld(context: ChannelHandlerContext) {
        guard let head = held else { return }
        held = nil
        send(head, context: context)
    }

    private mutating func send(
        _ bytes: ByteBuffer, promise: EventLoopPromise<Void>? = nil, context: ChannelHandlerContext
    ) {
        bytesQueued &+= bytes.readableBytes
        context.write(NIOAny(bytes), promise: promise)
    }

    // MARK: Framing

    private enum Framing: Equatable {
        case none
        case contentLength
        case chunked
        /// HTTP/1.0 without a length: the body ends when the connection closes.
        case closeDelimited

        /// Whether a header of the message stays: the length headers only where they frame the body.
        func keeps(_ name: HTTP1Head.KnownName) -> Bool {
            switch self {
            case .none: name != .contentLength && name != .transferEncoding
            case .contentLength, .chunked, .closeDelimited: name != .transferEncoding
            }
        }
    }

    private func isBodiless(code: UInt) -> Bool {
        connect || (100..<200).contains(code) || code == 204 || code == 304
    }

    private func framing(code: UInt, hasContentLength: Bool, http10: Bool) -> Framing {
        if isBodiless(code: code) { return .none }
        if hasContentLength { return .contentLength }
        return http10 ? .closeDelimited : .chunked
    }

    // MARK: Bytes

    private static func writeStatusLine(_ status: HTTPResponseStatus, http10: Bool, into buffer: inout ByteBuffer) {
        if http10 { buffer.writeStaticString("HTTP/1.0 ") } else { buffer.writeStaticString("HTTP/1.1 ") }
        let code = status.code
        if (100...999).contains(code) {
            buffer.writeInteger(UInt8(0x30 + code / 100))
            buffer.writeInteger(UInt8(0x30 + code / 10 % 10))
            buffer.writeInteger(UInt8(0x30 + code % 10))
        } else {
            buffer.writeString(String(code))
        }
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }

    /// The backend's status line with the app's HTTP version: its code and reason as they came.
    private static func writeStatusLine(of head: UpstreamResponseHead, http10: Bool, into buffer: inout ByteBuffer) {
        if http10 { buffer.writeStaticString("HTTP/1.0 ") } else { buffer.writeStaticString("HTTP/1.1 ") }
        let line = head.lines.startLine
        // `HTTP/1.x ` is 9 bytes (UpstreamResponseHead checked the line).
        head.lines.bytes.withUnsafeReadableBytes {
            _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[line.lowerBound + 9..<line.upperBound]))
        }
        buffer.writeStaticString("\r\n")
    }

    /// `Transfer-Encoding` for a body chunked again: the backend's other codings first (the body is still coded
    /// with them; only chunking was taken off), then `chunked`.
    private static func writeChunkedCoding(after head: HTTP1Head, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("transfer-encoding: ")
        for coding in head.codingsBesideChunked {
            head.bytes.withUnsafeReadableBytes { _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[coding])) }
            buffer.writeStaticString(", ")
        }
        buffer.writeStaticString("chunked\r\n")
    }

    private static func writeChunkSize(of part: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeString(String(part.readableBytes, radix: 16))
        buffer.writeStaticString("\r\n")
    }

    private static func writeHeader(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }
}

extension ByteBuffer {
    fileprivate static let crlf = ByteBuffer(staticString: "\r\n")
}
