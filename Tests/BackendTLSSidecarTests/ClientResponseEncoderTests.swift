import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

/// What the app receives for a backend's response: framing per the app's HTTP version and the request's method,
/// hop-by-hop headers dropped, and the sidecar's own refusals as they are.
@Suite struct ClientResponseEncoderTests {
    /// Encodes a backend response (head, body parts, end) for a request with `method`, and returns the bytes the
    /// app would receive and whether its connection stays open.
    private func relay(
        _ head: HTTPResponseHead, body: [String] = [], trailers: HTTPHeaders? = nil, method: HTTPMethod = .GET,
        http10Client: Bool = false, keepAlive: Bool = true
    ) throws -> (wire: String, keepAlive: Bool) {
        let (channel, context) = try Self.channel()
        var encoder = ClientResponseEncoder()
        encoder.startRequest(method: method, http10Client: http10Client)
        var keepAlive = keepAlive
        encoder.writeFinalHead(try UpstreamResponseHead(head), keepAlive: &keepAlive, context: context)
        for part in body { encoder.writeBody(ByteBuffer(string: part), context: context) }
        encoder.writeEnd(trailers: try trailers.map(HTTP1Trailers.with), promise: nil, context: context)
        context.flush()
        return (try Self.written(channel), keepAlive)
    }

    private static func channel() throws -> (EmbeddedChannel, ChannelHandlerContext) {
        let channel = EmbeddedChannel()
        let grabber = ContextGrabber()
        try channel.pipeline.syncOperations.addHandler(grabber)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, try #require(grabber.context))
    }

    private static func written(_ channel: EmbeddedChannel) throws -> String {
        try writes(channel).joined()
    }

    /// Each buffer handed to NIO, in order.
    private static func writes(_ channel: EmbeddedChannel) throws -> [String] {
        var writes: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(String(buffer: buffer)) }
        return writes
    }

    private static func head(_ status: HTTPResponseStatus, _ headers: [(String, String)]) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))
    }

    @Test func lengthFramedResponseKeepsItsLengthAndLosesHopByHopHeaders() throws {
        let response = Self.head(
            .ok, [("Content-Length", "5"), ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "t=5")])
        let (wire, keepAlive) = try relay(response, body: ["hel", "lo"])
        #expect(wire == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        #expect(keepAlive)
    }

    @Test func bodyWithoutLengthIsChunkedForHTTP11() throws {
        let response = Self.head(.ok, [("Transfer-Encoding", "chunked"), ("X-A", "b")])
        let (wire, _) = try relay(response, body: ["hello", "", "0123456789abcdefg"], trailers: ["X-T": "1"])
        #expect(
            wire
                == "HTTP/1.1 200 OK\r\nX-A: b\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n11\r\n0123456789abcdefg\r\n"
                + "0\r\nX-T: 1\r\n\r\n")
    }

    /// Only chunking was taken off: the backend's other codings stay named, before `chunked`; trailers that
    /// could be taken for framing or connection fields are not passed on.
    @Test func otherCodingsStayAndFramingTrailersDoNot() throws {
        let response = Self.head(.ok, [("Transfer-Encoding", "gzip, chunked")])
        let trailers: HTTPHeaders = [
            "X-Sum": "1", "Content-Length": "9", "Connection": "close", "Transfer-Encoding": "x",
        ]
        let (wire, _) = try relay(response, body: ["zz"], trailers: trailers)
        #expect(wire == "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n2\r\nzz\r\n0\r\nX-Sum: 1\r\n\r\n")
    }

    /// A backend's chunked answer, read by the parser and written for the app: trailer lines go on byte for byte,
    /// bytes that are not UTF-8 (obs-text) included, which a header list of Strings turned into U+FFFD; framing
    /// trailers still do not.
    @Test func trailerLinesGoOnAsTheyCame() throws {
        let note: [UInt8] = Array("X-Note: caf".utf8) + [0xE9, 0x20, 0xFF] + Array("\r\n".utf8)
        let wire =
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n".utf8) + note
            + Array("Content-Length: 9\r\nX-Sum:1\r\n\r\n".utf8)
        var parser = UpstreamResponseParser()
        parser.expectResponse(to: .GET)
        parser.receive(ByteBuffer(bytes: wire))
        var parts: [UpstreamResponseParser.Event] = []
        while let part = try parser.next() { parts.append(part) }
        guard parts.count == 3, case .head(let head) = parts[0], case .end(let trailers) = parts[2] else {
            Issue.record("expected a head, a body part and the end: \(parts)")
            return
        }
        let (channel, context) = try Self.channel()
        var encoder = ClientResponseEncoder()
        encoder.startRequest(method: .GET)
        var keepAlive = true
        encoder.writeFinalHead(head, keepAlive: &keepAlive, context: context)
        encoder.writeBody(ByteBuffer(string: "zz"), context: context)
        encoder.writeEnd(trailers: trailers, promise: nil, context: context)
        context.flush()
        var written: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += buffer.readableBytesView }
        let expected =
            Array("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n".utf8) + note
            + Array("X-Sum:1\r\n\r\n".utf8)
        #expect(written == expected, "\(String(decoding: written, as: UTF8.self).debugDescription)")
    }

    @Test func bodyWithoutLengthEndsByClosingForHTTP10() throws {
        let response = Self.head(.ok, [("Transfer-Encoding", "chunked")])
        let (wire, keepAlive) = try relay(response, body: ["hello"], http10Client: true)
        #expect(wire == "HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nhello")
        #expect(!keepAlive)
    }

    @Test func http10KeepAliveIsConfirmedWhenTheLengthIsKnown() throws {
        let response = Self.head(.ok, [("Content-Length", "2")])
        let (wire, keepAlive) = try relay(response, body: ["ok"], http10Client: true)
        #expect(wire == "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nconnection: keep-alive\r\n\r\nok")
        #expect(keepAlive)
    }

    @Test func closingConnectionSaysSo() throws {
        let (wire, keepAlive) = try relay(Self.head(.ok, [("Content-Length", "0")]), keepAlive: false)
        #expect(wire == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: close\r\n\r\n")
        #expect(!keepAlive)
    }

    @Test(arguments: [HTTPResponseStatus.noContent, .notModified])
    func statusesWithoutBodyLoseTheirLengthHeaders(status: HTTPResponseStatus) throws {
        let response = Self.head(status, [("Content-Length", "7"), ("Transfer-Encoding", "chunked"), ("ETag", "x")])
        let (wire, _) = try relay(response)
        #expect(wire == "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nETag: x\r\n\r\n")
    }

    /// The head says what a GET would have carried; no body follows, not even a chunked terminator.
    @Test func responseToHEADHasNoBody() throws {
        let chunked = try relay(Self.head(.ok, [("X-A", "b")]), method: .HEAD)
        #expect(chunked.wire == "HTTP/1.1 200 OK\r\nX-A: b\r\ntransfer-encoding: chunked\r\n\r\n")
        let sized = try relay(Self.head(.ok, [("Content-Length", "5")]), body: ["hello"], method: .HEAD)
        #expect(sized.wire == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    }

    /// Kept lines are copied as they came: bytes that are not UTF-8 (obs-text) in a value or the reason, and the
    /// spacing around a value, reach the app unchanged; dropped lines go, wherever they are.
    @Test func keptLinesArePassedOnAsTheyCame() throws {
        let backend: [UInt8] =
            Array("HTTP/1.1 200 Ok".utf8) + [0xE9] + Array("\r\nConnection: keep-alive\r\nX-Raw:\t caf".utf8) + [0xE9]
            + Array(" \r\nContent-Length: 0\r\nKeep-Alive: timeout=5\r\nX-Last: 1\r\n".utf8)
        let head = try UpstreamResponseHead.read(ByteBuffer(bytes: backend)).get()
        let (channel, _) = try Self.channel()
        var encoder = ClientResponseEncoder()
        encoder.startRequest(method: .GET)
        var keepAlive = true
        let bytes = encoder.finalHead(head, keepAlive: &keepAlive, allocator: channel.allocator)
        let expected: [UInt8] =
            Array("HTTP/1.1 200 Ok".utf8) + [0xE9] + Array("\r\nX-Raw:\t caf".utf8) + [0xE9]
            + Array(" \r\nContent-Length: 0\r\nX-Last: 1\r\n\r\n".utf8)
        #expect(Array(bytes.readableBytesView) == expected)
    }

    @Test func interimAnswerIsPassedOnWithoutHopByHopOrLengthHeaders() throws {
        let (channel, _) = try Self.channel()
        let encoder = ClientResponseEncoder()
        let head = HTTPResponseHead(
            version: .http1_0, status: .continue,
            headers: ["Connection": "keep-alive", "Content-Length": "0", "X-A": "b"])
        let bytes = encoder.interimHead(try UpstreamResponseHead(head), allocator: channel.allocator)
        #expect(String(buffer: bytes) == "HTTP/1.1 100 Continue\r\nX-A: b\r\n\r\n")
    }

    /// A refusal is written as made (its `connection: close` included); to CONNECT it has no body or length,
    /// so only closing ends it.
    @Test func refusalsAreWrittenAsMade() throws {
        let failure = ProxyFailure(status: 502, reason: "test", policy: nil, message: "m")
        for method in [HTTPMethod.GET, .CONNECT] {
            let (channel, context) = try Self.channel()
            var encoder = ClientResponseEncoder()
            encoder.startRequest(method: method)
            encoder.writeOwnHead(failure.responseHead(keepAlive: false), context: context)
            encoder.writeBody(ByteBuffer(string: failure.body), context: context)
            encoder.writeEnd(trailers: nil, promise: nil, context: context)
            context.flush()
            let wire = try Self.written(channel)
            #expect(wire.hasPrefix("HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\n"))
            #expect(wire.contains("x-backendtls-error: test: m\r\nconnection: close\r\n\r\n"))
            if method == .CONNECT {
                #expect(!wire.contains("content-length") && wire.hasSuffix("\r\n\r\n"), "\(wire)")
            } else {
                #expect(wire.contains("content-length: \(failure.body.utf8.count)\r\n") && wire.hasSuffix(failure.body))
            }
        }
    }

    /// A refusal to an HTTP/1.0 client is HTTP/1.0 too, and says when the connection stays open: an HTTP/1.0 client
    /// that asked for keep-alive closes otherwise.
    @Test func refusalsToHTTP10ClientsConfirmKeepAlive() throws {
        let failure = ProxyFailure(status: 502, reason: "test", policy: nil, message: "m")
        for keepAlive in [true, false] {
            let (channel, context) = try Self.channel()
            var encoder = ClientResponseEncoder()
            encoder.startRequest(method: .GET, http10Client: true)
            encoder.writeOwnHead(failure.responseHead(keepAlive: keepAlive), context: context)
            encoder.writeBody(ByteBuffer(string: failure.body), context: context)
            encoder.writeEnd(trailers: nil, promise: nil, context: context)
            context.flush()
            let wire = try Self.written(channel)
            #expect(wire.hasPrefix("HTTP/1.0 502 Bad Gateway\r\n"), "\(wire)")
            let connection = keepAlive ? "connection: keep-alive\r\n" : "connection: close\r\n"
            #expect(wire.contains("content-length: \(failure.body.utf8.count)\r\n"), "\(wire)")
            #expect(wire.ranges(of: "connection: ").count == 1, "\(wire)")
            #expect(wire.hasSuffix(connection + "\r\n" + failure.body), "\(wire)")
        }
    }

    /// The end's promise completes only once what came before it is written, chunked or not: the connection is
    /// closed on it.
    @Test func endPromiseCompletesAfterTheBody() throws {
        let (channel, context) = try Self.channel()
        var encoder = ClientResponseEncoder()
        encoder.startRequest(method: .GET)
        var keepAlive = false
        encoder.writeFinalHead(
            try UpstreamResponseHead(Self.head(.ok, [("Content-Length", "2")])),
            keepAlive: &keepAlive, context: context)
        encoder.writeBody(ByteBuffer(string: "ok"), context: context)
        let written = channel.eventLoop.makePromise(of: Void.self)
        nonisolated(unsafe) var completed = false
        written.futureResult.whenSuccess { completed = true }
        encoder.writeEnd(trailers: nil, promise: written, context: context)
        context.flush()
        channel.embeddedEventLoop.run()
        #expect(completed)
        #expect(try Self.written(channel).hasSuffix("\r\n\r\nok"))
    }
}

/// How many writes an answer takes: a small one is one (its head held and its body copied in after it); a large
/// body part is written as it came; a flush writes a held head at once.
@Suite struct ClientResponseEncoderWriteTests {
    private let channel = EmbeddedChannel()
    private let context: ChannelHandlerContext

    init() throws {
        let grabber = ContextGrabber()
        try channel.pipeline.syncOperations.addHandler(grabber)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        context = try #require(grabber.context)
    }

    private func writes() throws -> [String] {
        var writes: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(String(buffer: buffer)) }
        return writes
    }

    private func start(_ headers: HTTPHeaders, encoder: inout ClientResponseEncoder) throws {
        encoder.startRequest(method: .GET)
        var keepAlive = true
        encoder.writeFinalHead(
            try UpstreamResponseHead(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)),
            keepAlive: &keepAlive, context: context)
    }

    @Test func smallAnswerIsOneWrite() throws {
        var encoder = ClientResponseEncoder()
        try start(["Content-Length": "5"], encoder: &encoder)
        #expect(try writes().isEmpty)
        encoder.writeBody(ByteBuffer(string: "hel"), context: context)
        encoder.writeBody(ByteBuffer(string: "lo"), context: context)
        encoder.writeEnd(trailers: nil, promise: nil, context: context)
        context.flush()
        #expect(try writes() == ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"])
        #expect(encoder.bytesQueued == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8.count)
    }

    @Test func smallChunkedAnswerIsOneWrite() throws {
        var encoder = ClientResponseEncoder()
        try start(["Transfer-Encoding": "chunked"], encoder: &encoder)
        encoder.writeBody(ByteBuffer(string: "hello"), context: context)
        encoder.writeEnd(trailers: nil, promise: nil, context: context)
        context.flush()
        #expect(
            try writes() == ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"])
    }

    @Test func largeBodyPartIsWrittenAsItCame() throws {
        var encoder = ClientResponseEncoder()
        let large = String(repeating: "x", count: ClientResponseEncoder.bodyCopyLimit + 1)
        try start(["Content-Length": "\(large.utf8.count + 2)"], encoder: &encoder)
        encoder.writeBody(ByteBuffer(string: large), context: context)
        encoder.writeBody(ByteBuffer(string: "ok"), context: context)
        encoder.writeEnd(trailers: nil, promise: nil, context: context)
        context.flush()
        #expect(try writes() == ["HTTP/1.1 200 OK\r\nContent-Length: \(large.utf8.count + 2)\r\n\r\n", large, "ok"])
    }

    /// A read burst that ends after the head (a backend that streams) gets the head to the app then.
    @Test func flushWritesAHeldHead() throws {
        var encoder = ClientResponseEncoder()
        try start(["Transfer-Encoding": "chunked"], encoder: &encoder)
        encoder.writeHeld(context: context)
        context.flush()
        #expect(try writes() == ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"])
        encoder.writeBody(ByteBuffer(string: "hello"), context: context)
        encoder.writeEnd(trailers: nil, promise: nil, context: context)
        context.flush()
        #expect(try writes().joined() == "5\r\nhello\r\n0\r\n\r\n")
    }

    /// Small parts are copied in only up to `heldLimit`: what is held is not in NIO's count of waiting bytes, which
    /// back-pressure reads.
    @Test func copyingStopsAtTheHeldLimit() throws {
        var encoder = ClientResponseEncoder()
        let part = String(repeating: "x", count: ClientResponseEncoder.bodyCopyLimit)
        let parts = 2 * ClientResponseEncoder.heldLimit / part.utf8.count
        try start(["Content-Length": "\(parts * part.utf8.count)"], encoder: &encoder)
        for _ in 0..<parts { encoder.writeBody(ByteBuffer(string: part), context: context) }
        encoder.writeEnd(trailers: nil, promise: nil, context: context)
        context.flush()
        let writes = try writes()
        #expect(writes.count > 1)
        #expect(writes[0].utf8.count <= ClientResponseEncoder.heldLimit + part.utf8.count + 64)
        #expect(writes.joined().hasSuffix(String(repeating: part, count: parts)))
    }

    /// An answer cut short leaves nothing held for the next one.
    @Test func heldHeadOfAnAnswerCutShortIsDropped() throws {
        var encoder = ClientResponseEncoder()
        try start(["Content-Length": "9"], encoder: &encoder)
        try start(["Content-Length": "2"], encoder: &encoder)
        encoder.writeBody(ByteBuffer(string: "ok"), context: context)
        encoder.writeEnd(trailers: nil, promise: nil, context: context)
        context.flush()
        #expect(try writes() == ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    }
}

private final class ContextGrabber: ChannelInboundHandler {
    typealias InboundIn = Never
    var context: ChannelHandlerContext?
    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
}
