import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

/// What the parser makes of a backend's bytes: every framing RFC 9112 allows a response, in pieces of any size,
/// and a refusal for anything with more than one reading. The differential test holds it to NIO's decoder.
@Suite struct UpstreamResponseParserTests {
    /// One response as the proxy sees it.
    struct Response: Equatable, CustomStringConvertible {
        var heads: [String] = []
        var body: [UInt8] = []
        var trailers: [String]?
        var ended = false

        var description: String {
            "heads \(heads), body \(body.count) bytes \(String(decoding: body.prefix(40), as: UTF8.self).debugDescription), trailers \(trailers ?? []), ended \(ended)"
        }
    }

    /// Values without trailing whitespace: the parser drops it (RFC 9110 5.5), NIO's decoder keeps it.
    static func describe(_ head: HTTPResponseHead) -> String {
        "\(head.version) \(head.status.code) \(head.status.reasonPhrase) "
            + head.headers.map { "\($0.name)=\(trimmed($0.value))" }.joined(separator: "|")
    }

    static func trimmed(_ value: String) -> Substring {
        var value = Substring(value)
        while let last = value.last, last == " " || last == "\t" { value.removeLast() }
        return value
    }

    /// Feeds `wire` in pieces of `piece` bytes (all at once when nil); `close` closes the connection after.
    static func parse(
        _ wire: [UInt8], method: HTTPMethod = .GET, piece: Int? = nil, close: Bool = false
    ) -> Result<[Response], UpstreamResponseParser.Malformed> {
        var parser = UpstreamResponseParser()
        parser.expectResponse(to: method)
        var responses = [Response()]
        let emit: (HTTPClientResponsePart) -> Void = { part in
            switch part {
            case .head(let head): responses[responses.count - 1].heads.append(describe(head))
            case .body(let bytes): responses[responses.count - 1].body += Array(bytes.readableBytesView)
            case .end(let trailers):
                responses[responses.count - 1].trailers = trailers.map { $0.map { "\($0.name)=\($0.value)" } }
                responses[responses.count - 1].ended = true
                responses.append(Response())
            }
        }
        do {
            var offset = 0
            while offset < wire.count {
                let count = min(piece ?? wire.count, wire.count - offset)
                try parser.parse(ByteBuffer(bytes: wire[offset..<offset + count]), emit: emit)
                offset += count
            }
        } catch {
            return .failure(error)
        }
        if close, parser.closed() { emit(.end(nil)) }
        if responses.last == Response() { responses.removeLast() }
        return .success(responses)
    }

    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func lengthFramedBodyInPiecesOfEverySize() throws {
        let wire = Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-A:  b c \r\n\r\n0123456789")
        let whole = try Self.parse(wire).get()
        #expect(whole.count == 1)
        #expect(whole.first?.heads == ["HTTP/1.1 200 OK Content-Length=10|X-A=b c"])
        #expect(whole.first?.body == Self.bytes("0123456789"))
        #expect(whole.first?.ended == true)
        for piece in 1..<wire.count {
            #expect(try Self.parse(wire, piece: piece).get() == whole, "pieces of \(piece)")
        }
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let wire = Self.bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n0123456789\r\n"
                + "0\r\nX-Sum: 1\r\n\r\n")
        for piece in [1, 2, 3, 7, wire.count] {
            let responses = try Self.parse(wire, piece: piece).get()
            #expect(responses.count == 1)
            #expect(responses.first?.body == Self.bytes("hello0123456789"), "pieces of \(piece)")
            #expect(responses.first?.trailers == ["X-Sum=1"])
        }
    }

    @Test func responsesWithoutBodyEndAtTheirHead() throws {
        let head = try Self.parse(Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), method: .HEAD).get()
        #expect(head.map(\.body) == [[]] && head.allSatisfy(\.ended))
        for status in ["204 No Content", "304 Not Modified"] {
            let wire = Self.bytes("HTTP/1.1 \(status)\r\nContent-Length: 5\r\n\r\n")
            #expect(try Self.parse(wire).get().map(\.ended) == [true], "\(status)")
        }
    }

    @Test func interimAnswersComeBeforeTheFinalOne() throws {
        let wire = Self.bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let responses = try Self.parse(wire).get()
        #expect(responses.first?.heads.count == 2)
        #expect(responses.first?.body == Self.bytes("ok"))
    }

    @Test func bodyWithoutLengthRunsUntilTheClose() throws {
        let wire = Self.bytes("HTTP/1.0 200 OK\r\n\r\nall of it")
        #expect(try Self.parse(wire, close: true).get().first?.body == Self.bytes("all of it"))
        #expect(try Self.parse(wire, close: true).get().first?.ended == true)
        #expect(try Self.parse(wire, close: false).get().first?.ended == false)
        // A length-framed body cut short is not ended by the close.
        let short = Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try Self.parse(short, close: true).get().first?.ended == false)
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "line end"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", "line end"),
        ("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "line end"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "both"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "twice"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", "Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", "Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "Content-Length"),
        ("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.0"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "before another"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "before another"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n", "Transfer-Encoding \""),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 100 Continue\r\n\r\n", "interim"),
        ("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "folded"),
        ("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", "token"),
        ("HTTP/1.1 200 OK\r\n: a\r\n\r\n", "without a name"),
        ("HTTP/1.1 200 OK\r\nX: a\u{01}b\r\n\r\n", "control"),
        ("HTTP/2.0 200 OK\r\n\r\n", "status line"),
        ("HTTP/1.1 20 OK\r\n\r\n", "status line"),
        ("HTTP/1.1 200OK\r\n\r\n", "status line"),
        ("HTTP/1.1 200\r\n\r\n", "status line"),
        ("HTTP/1.1 099 Low\r\n\r\n", "status"),
        ("http/1.1 200 OK\r\n\r\n", "status line"),
        ("\r\nHTTP/1.1 200 OK\r\n\r\n", "status line"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", "chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "too large"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "CRLF"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy", "no response was due"),
    ])
    func ambiguousOrBrokenResponsesAreRefused(wire: String, reason: String) {
        for piece in [1, wire.utf8.count] {
            guard case .failure(let failure) = Self.parse(Self.bytes(wire), piece: piece) else {
                Issue.record("accepted in pieces of \(piece): \(wire.debugDescription)")
                continue
            }
            #expect(failure.description.contains(reason), "\(failure)")
        }
    }

    @Test func headsAndTrailersAreLimited() {
        let long = "HTTP/1.1 200 OK\r\nX: \(String(repeating: "a", count: 90 << 10))\r\n\r\n"
        for piece in [1000, long.utf8.count] {
            guard case .failure(let failure) = Self.parse(Self.bytes(long), piece: piece) else {
                Issue.record("a 90 KiB head was accepted")
                continue
            }
            #expect(failure.description.contains("exceeds"))
        }
    }

    /// A kept-alive connection: the next response is read once the next request is sent; until then, and after
    /// a refusal, bytes are not taken for a response.
    @Test func nextResponseOnlyAfterTheNextRequest() throws {
        var parser = UpstreamResponseParser()
        var parts = 0
        for _ in 0..<2 {
            #expect(parser.isIdle)
            parser.expectResponse(to: .GET)
            #expect(!parser.isIdle)
            try parser.parse(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) { _ in parts += 1 }
        }
        #expect(parts == 6)
        #expect(throws: UpstreamResponseParser.Malformed.self) {
            try parser.parse(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n")) { _ in parts += 1 }
        }
        try parser.parse(ByteBuffer(string: "more")) { _ in parts += 1 }
        #expect(parts == 6)
    }

    /// Once what was read is parsed (or the rest of it held as a copy), the parser keeps no hold on the buffer it
    /// came in: TLS reuses its 32 KiB plaintext buffer only when nobody else holds it, and otherwise copies it
    /// whole before its next read.
    @Test(arguments: ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 OK\r\nContent-"])
    func readBufferIsLetGo(wire: String) throws {
        var parser = UpstreamResponseParser()
        parser.expectResponse(to: .GET)
        let parsed = try parseLettingGo(wire, capacity: 32 << 10) { read, count in
            try parser.parse(read) { _ in count() }
        }
        #expect(parsed.parts == (wire.hasSuffix("ok") ? 3 : 0))
        #expect(parsed.letGo)
    }

    /// Lists are split on the comma byte: a prepended character (U+0600, bytes D8 80) before the comma joins it
    /// as a Character, and a split by Characters read one coding, not chunked last, and the body until the close.
    @Test func codingsAreSplitOnTheCommaByte() throws {
        let wire: [UInt8] =
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip".utf8) + [0xD8, 0x80]
            + Array(",chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8)
        let responses = try Self.parse(wire).get()
        #expect(responses.first?.body == Array("abc".utf8))
        #expect(responses.first?.ended == true)
    }
}
