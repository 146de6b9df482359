import NIOCore

/// A message as the parsers hand it out, part by part. NIO's `HTTPPart` would do, but it carries trailers as a
/// header list of Strings: bytes that are not UTF-8 would become U+FFFD on their way through, where every other
/// field line goes on as it came.
enum HTTP1Part<Head> {
    case head(Head)
    case body(ByteBuffer)
    /// The trailer section's field lines, if it had any.
    case end(HTTP1Head?)

    var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}
