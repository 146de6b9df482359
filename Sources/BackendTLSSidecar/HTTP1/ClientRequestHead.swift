import NIOCore
import NIOHTTP1

/// An app's request head as it was read: what the proxy routes on (method, target, version, keep-alive) and the
/// lines it forwards as they came (UpstreamRequestEncoder).
struct ClientRequestHead: Equatable {
    let method: HTTPMethod
    let uri: String
    let version: HTTPVersion
    /// Whether the connection stays open after this request, as NIO decides it (`HTTP1Head.keepsAlive`).
    let keepsAlive: Bool
    /// The request line and the fields.
    let lines: HTTP1Head

    /// The first `Host` field's value (the parser refuses two).
    var host: String? {
        hostField.map { lines.text($0.value) }
    }

    var hostField: HTTP1Head.Field? {
        lines.fields.first { $0.known == .host }
    }

    /// As NIO's decoder would have handed it on (for tests).
    var nioHead: HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: lines.headers)
    }

    /// Reads a head block: the request line, then the fields.
    static func read(_ block: ByteBuffer) throws(HTTP1Syntax.Malformed) -> ClientRequestHead {
        let line = block.withUnsafeReadableBytes { bytes in
            var lines = HTTP1Syntax.Lines(bytes)
            return Self.requestLine(lines.next()!)
        }
        let (method, target, version) = try line.get()
        let lines = try HTTP1Head.read(block, party: "client").get()
        if lines.fields.lazy.filter({ $0.known == .host }).count > 1 {
            throw HTTP1Syntax.fail("the client sent Host twice")
        }
        return ClientRequestHead(
            method: method, uri: target, version: version, keepsAlive: lines.keepsAlive(version: version), lines: lines)
    }

    private static func requestLine(
        _ line: UnsafeRawBufferPointer.SubSequence
    ) -> Result<(HTTPMethod, String, HTTPVersion), HTTP1Syntax.Malformed> {
        var refused: HTTP1Syntax.Malformed {
            HTTP1Syntax.fail("the client's request line is not valid: \"\(HTTP1Syntax.snippet(line))\"")
        }
        guard let methodEnd = line.firstIndex(of: 0x20), methodEnd > line.startIndex,
            HTTP1Syntax.all(line[..<methodEnd], are: HTTP1Syntax.isTokenByte)
        else { return .failure(refused) }
        let afterMethod = line[(methodEnd + 1)...]
        guard let targetEnd = afterMethod.firstIndex(of: 0x20), targetEnd > afterMethod.startIndex,
            HTTP1Syntax.all(afterMethod[..<targetEnd], are: { $0 > 0x20 && $0 < 0x7F })
        else { return .failure(refused) }
        let version = afterMethod[(targetEnd + 1)...]
        guard version.count == 8, HTTP1Syntax.bytes(version.prefix(7), are: "HTTP/1."),
            let minor = version.last, minor == 0x30 || minor == 0x31
        else { return .failure(refused) }
        let name = line[..<methodEnd]
        let method = commonMethod(name) ?? HTTPMethod(rawValue: HTTP1Syntax.text(name))
        if case .RAW(let name) = method {
            // llhttp knows a fixed list of methods (NIO's cases) and refuses others: so does the sidecar.
            return .failure(HTTP1Syntax.fail("the client sent an unknown method \"\(name.prefix(64))\""))
        }
        let target = afterMethod[..<targetEnd]
        guard isRequestTarget(target, connect: method.isCONNECT) else {
            return .failure(
                HTTP1Syntax.fail(
                    "the client sent a request target that is not valid: \"\(HTTP1Syntax.snippet(target))\""))
        }
        return .success((method, HTTP1Syntax.text(target), minor == 0x31 ? .http1_1 : .http1_0))
    }

    /// The usual methods by their bytes, without making a String and matching it against every method's name.
    private static func commonMethod(_ name: UnsafeRawBufferPointer.SubSequence) -> HTTPMethod? {
        if HTTP1Syntax.bytes(name, are: "GET") { return .GET }
        if HTTP1Syntax.bytes(name, are: "POST") { return .POST }
        if HTTP1Syntax.bytes(name, are: "HEAD") { return .HEAD }
        if HTTP1Syntax.bytes(name, are: "PUT") { return .PUT }
        return nil
    }

    /// The forms of RFC 9112 3.2, by shape (as llhttp checks them): origin (`/…`), absolute (`scheme://authority…`, a
    /// scheme of letters),
    /// asterisk (`*`), and for CONNECT authority (`host:port`).
    private static func isRequestTarget(_ target: UnsafeRawBufferPointer.SubSequence, connect: Bool) -> Bool {
        if connect { return !target.contains(UInt8(ascii: "/")) }
        if target.first == UInt8(ascii: "/") || target.elementsEqual("*".utf8) { return true }
        guard let colon = target.firstIndex(of: UInt8(ascii: ":")), colon > target.startIndex,
            let first = target.first, first | 0x20 >= 0x61, first | 0x20 <= 0x7A,
            target[..<colon].allSatisfy({ $0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A })
        else { return false }
        let rest = target[(colon + 1)...]
        guard rest.starts(with: "//".utf8) else { return false }
        let authority = rest.dropFirst(2).prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") }
        return !authority.isEmpty
    }
}
