import NIOCore

/// A message as the parsers hand it out, part by part. NIO's `HTTPPart` would do, but it carries trailers as a
/// header list of Strings: bytes that are not UTF-8 would become U+FFFD on their way through, where every other
/// field line goes on as it came.
enum HTTP1Part<Head> {
    case head(Head)
    case body(ByteBuffer)
    /// The trailer section, if it had any fields.
    case end(HTTP1Trailers?)

    var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}

/// A trailer section's field lines (a head with no start line), boxed: trailers are rare, and a head's worth of
/// stored properties in every part and parsing step made each one costlier to copy and destroy than a reference.
final class HTTP1Trailers {
    let lines: HTTP1Head

    init(_ lines: HTTP1Head) { self.lines = lines }

    /// Checks a trailer section's field lines. Its bytes are a copy of their own: a slice would keep the read buffer
    /// it came in alive, which NIO would then copy before its next read.
    static func read(_ block: ByteBuffer, party: String) -> Result<HTTP1Trailers, HTTP1Syntax.Malformed> {
        let copy = ByteBuffer(bytes: block.readableBytesView)
        return copy.withUnsafeReadableBytes { raw in
            var lines = HTTP1Syntax.Lines(raw)
            return HTTP1Syntax.fieldRanges(&lines, party: party).map {
                HTTP1Trailers(HTTP1Head(bytes: copy, startLine: 0..<0, fields: $0))
            }
        }
    }

    /// Copies the trailer fields a proxy passes on (`HTTPTrailers`) as they came.
    func copyForwardable(into buffer: inout ByteBuffer) {
        let lines = lines
        lines.copyFields(into: &buffer) { HTTPTrailers.mayForward($0, in: lines) }
    }
}
