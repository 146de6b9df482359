import NIOCore
import NIOHTTP1

/// A backend's response head as it was read: what the proxy decides on (version, status) and the lines it
/// forwards as they came (ClientResponseEncoder).
struct UpstreamResponseHead: Equatable {
    let version: HTTPVersion
    let code: UInt
    /// The status line and the fields.
    let lines: HTTP1Head

    /// Reads a head block: the status line, then the fields.
    static func read(_ block: ByteBuffer) -> Result<UpstreamResponseHead, HTTP1Syntax.Malformed> {
        let status = block.withUnsafeReadableBytes { bytes in
            var lines = HTTP1Syntax.Lines(bytes)
            guard let line = lines.next() else {
                return Result<(HTTPVersion, UInt), HTTP1Syntax.Malformed>.failure(
                    HTTP1Syntax.fail("the backend sent an empty line where the status line belongs"))
            }
            return statusLine(line)
        }
        return status.flatMap { version, code in
            HTTP1Head.read(block, party: "backend").map {
                UpstreamResponseHead(version: version, code: code, lines: $0)
            }
        }
    }

    /// `HTTP/1.x NNN reason`; the reason may be empty, not the space before it (RFC 9112 4).
    private static func statusLine(
        _ line: UnsafeRawBufferPointer.SubSequence
    ) -> Result<(HTTPVersion, UInt), HTTP1Syntax.Malformed> {
        let at = line.startIndex
        guard line.count >= 13, HTTP1Syntax.bytes(line[at..<at + 7], are: "HTTP/1."),
            line[at + 7] == 0x30 || line[at + 7] == 0x31, line[at + 8] == 0x20,
            line[at + 9..<at + 12].allSatisfy({ $0 &- 0x30 < 10 }), line[at + 12] == 0x20
        else {
            return .failure(
                HTTP1Syntax.fail("the backend's status line is not HTTP/1.x: \"\(HTTP1Syntax.snippet(line))\""))
        }
        let code = line[at + 9..<at + 12].reduce(0) { $0 * 10 + UInt($1 - 0x30) }
        guard code >= 100 else { return .failure(HTTP1Syntax.fail("the backend sent status \(code)")) }
        guard HTTP1Syntax.all(line[(at + 13)...], are: HTTP1Syntax.isFieldValueByte) else {
            return .failure(HTTP1Syntax.fail("the backend's reason phrase has control characters"))
        }
        return .success((line[at + 7] == 0x31 ? .http1_1 : .http1_0, code))
    }

    var reasonPhrase: String { lines.text(lines.startLine.lowerBound + 13..<lines.startLine.upperBound) }

    var keepsAlive: Bool { lines.keepsAlive(version: version) }

    /// As NIO's decoder would have handed it on (for tests, and what needs NIO's head type).
    var nioHead: HTTPResponseHead {
        HTTPResponseHead(
            version: version, status: HTTPResponseStatus(statusCode: Int(code), reasonPhrase: reasonPhrase),
            headers: lines.headers)
    }
}
