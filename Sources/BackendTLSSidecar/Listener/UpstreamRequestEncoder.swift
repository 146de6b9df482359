import NIOCore
import NIOHTTP1

/// Writes a client's request for the backend as bytes: in origin form, as HTTP/1.1, without hop-by-hop headers,
/// with a `Host`, and framed so that the backend reads exactly the body the client sent.
///
/// The request's body arrives decoded (ClientRequestParser takes chunked coding off). A body the client sent with a
/// length keeps it; one sent with `Transfer-Encoding` (which the parser only accepts with `chunked` last) keeps
/// the header as sent and is chunked again; POST, PUT and PATCH without either are sent chunked (as NIO's
/// encoder did); TRACE carries none. NIO's encoder, used before, sent a body whose `Transfer-Encoding` named
/// another coding before `chunked` unframed, under a header that told the backend to read chunks.
struct UpstreamRequestEncoder {
    private var chunked = false
    /// TRACE: a body the client sent anyway is not forwarded (NIO's encoder dropped the length and sent the body,
    /// which the backend would have read as the next request).
    private var noBody = false

    /// The request line in origin form, then the client's lines it keeps, as they came.
    /// - Parameter replaceHost: the request named its target in absolute form: `hostHeader` (its authority)
    ///   replaces the client's `Host` (RFC 9112 3.2.2).
    mutating func head(
        _ head: ClientRequestHead, path: String, hostHeader: String, replaceHost: Bool = false,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let (hasHost, hasLength, hasCodings) = Self.framingFields(of: head.lines)
        noBody = head.method.isTRACE
        let addChunked = !noBody && !hasLength && !hasCodings && head.method.sendsBody
        chunked = !noBody && !hasLength && (hasCodings || addChunked)

        var buffer = allocator.buffer(capacity: head.lines.bytes.readableBytes + hostHeader.utf8.count + 40)
        if !replaceHost, head.version == .http1_1, head.uri == path {
            // Already `METHOD SP path SP HTTP/1.1` (ClientRequestHead checked its form): copied as it came.
            Self.copyStartLine(of: head.lines, into: &buffer)
        } else {
            buffer.writeString(head.method.rawValue)
            buffer.writeStaticString(" ")
            buffer.writeString(path)
            buffer.writeStaticString(" HTTP/1.1\r\n")
        }
        Self.copyKeptFields(of: head.lines, replaceHost: replaceHost, noBody: noBody, into: &buffer)
        if !hasHost || replaceHost {
            buffer.writeStaticString("host: ")
            buffer.writeString(hostHeader)
            buffer.writeStaticString("\r\n")
        }
        if addChunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    // The head's lines are passed as arguments, not bound to a local: a local was a copy (two references counted
    // up and down) per use.
    private static func framingFields(of lines: HTTP1Head) -> (host: Bool, length: Bool, codings: Bool) {
        var hasHost = false
        var hasLength = false
        var hasCodings = false
        for field in lines.fields {
            hasHost = hasHost || field.known == .host
            hasLength = hasLength || field.known == .contentLength
            hasCodings = hasCodings || field.known == .transferEncoding
        }
        return (hasHost, hasLength, hasCodings)
    }

    private static func copyStartLine(of lines: HTTP1Head, into buffer: inout ByteBuffer) {
        lines.bytes.withUnsafeReadableBytes {
            _ = buffer.writeBytes(
                UnsafeRawBufferPointer(rebasing: $0[lines.startLine.lowerBound..<lines.startLine.upperBound + 2]))
        }
    }

    private static func copyKeptFields(
        of lines: HTTP1Head, replaceHost: Bool, noBody: Bool, into buffer: inout ByteBuffer
    ) {
        let hopByHop = HopByHopHeaders(lines)
        lines.copyFields(into: &buffer) { field in
            if hopByHop.contains(field, in: lines) { return false }
            if replaceHost, field.known == .host { return false }
            return !noBody || !(field.known == .contentLength || field.known == .transferEncoding)
        }
    }

    /// The bytes of a part of the body, in order (none for a request without body).
    func body(_ part: ByteBuffer, allocator: ByteBufferAllocator, write: (ByteBuffer) -> Void) {
        guard part.readableBytes > 0, !noBody else { return }
        guard chunked else { return write(part) }
        var size = allocator.buffer(capacity: 20)
        size.writeString(String(part.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        write(size)
        write(part)
        write(ByteBuffer(staticString: "\r\n"))
    }

    /// The bytes that end the body: the last chunk and trailers, or nothing.
    mutating func end(trailers: HTTP1Trailers?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        defer {
            chunked = false
            noBody = false
        }
        guard chunked else { return nil }
        var last = allocator.buffer(capacity: 5 + (trailers?.lines.bytes.readableBytes ?? 0))
        last.writeStaticString("0\r\n")
        trailers?.copyForwardable(into: &last)
        last.writeStaticString("\r\n")
        return last
    }
}
