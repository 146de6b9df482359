import NIOCore
import NIOHTTP1

@testable import BackendTLSSidecar

/// Feeds bytes and hands out every part they complete, as the proxy's handlers do.
extension UpstreamResponseParser {
    mutating func parse(_ bytes: ByteBuffer, emit: (HTTPClientResponsePart) -> Void) throws(HTTP1Syntax.Malformed) {
        receive(bytes)
        while let part = try next() { emit(part.withHead(\.nioHead)) }
    }
}

extension HTTP1Part {
    /// The same part as NIO's decoder handed it on, its head converted by `convert`.
    func withHead<NIOHead>(_ convert: (Head) -> NIOHead) -> HTTPPart<NIOHead, ByteBuffer> {
        switch self {
        case .head(let head): .head(convert(head))
        case .body(let bytes): .body(bytes)
        case .end(let trailers): .end(trailers?.lines.headers)
        }
    }
}

extension UpstreamResponseHead {
    /// The head a backend would send for `head` (its lines as NIO's encoder writes them), as read.
    init(_ head: HTTPResponseHead) throws {
        var block =
            "HTTP/\(head.version.major).\(head.version.minor) \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for (name, value) in head.headers { block += "\(name): \(value)\r\n" }
        self = try UpstreamResponseHead.read(ByteBuffer(string: block)).get()
    }
}

extension ClientRequestParser {
    mutating func parse(_ bytes: ByteBuffer, emit: (HTTPServerRequestPart) -> Void) throws(HTTP1Syntax.Malformed) {
        receive(bytes)
        while let part = try next() { emit(part.withHead(\.nioHead)) }
    }
}

extension ClientRequestHead {
    /// The head an app would send for `head` (its lines as NIO's encoder writes them), as read.
    init(_ head: HTTPRequestHead) throws {
        var block = "\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)\r\n"
        for (name, value) in head.headers { block += "\(name): \(value)\r\n" }
        self = try ClientRequestHead.read(ByteBuffer(string: block))
    }
}

/// Feeds `wire`, in a buffer of `capacity` bytes, to `parse` (which counts each part it hands out with the
/// closure it is given): how many parts came out, and whether the parser then held the buffer no more (clearing a
/// buffer held elsewhere moves it to new storage).
func parseLettingGo(
    _ wire: String, capacity: Int, parse: (ByteBuffer, () -> Void) throws -> Void
) throws -> (parts: Int, letGo: Bool) {
    var read = ByteBufferAllocator().buffer(capacity: capacity)
    read.writeString(wire)
    var parts = 0
    try parse(read) { parts += 1 }
    let before = read.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
    read.clear()
    return (parts, read.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == before)
}

extension HTTP1Head {
    /// A request head with `headers`, as read.
    init(request headers: HTTPHeaders) throws {
        self = try ClientRequestHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers)).lines
    }
}

extension HTTP1Trailers {
    /// A trailer section with `fields`, as read.
    static func with(_ fields: HTTPHeaders) throws -> HTTP1Trailers {
        var block = ""
        for (name, value) in fields { block += "\(name): \(value)\r\n" }
        return try HTTP1Trailers.read(ByteBuffer(string: block), party: "test").get()
    }
}
