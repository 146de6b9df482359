import NIOCore
import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

/// The request the backend receives: origin form, HTTP/1.1, no hop-by-hop headers, a Host, and framing that
/// delivers exactly the body the client sent.
@Suite struct UpstreamRequestEncoderTests {
    private func encode(
        _ method: HTTPMethod, _ headers: [(String, String)], body: [String] = [], trailers: HTTPHeaders? = nil,
        version: HTTPVersion = .http1_1
    ) throws -> String {
        var encoder = UpstreamRequestEncoder()
        let allocator = ByteBufferAllocator()
        let head = HTTPRequestHead(
            version: version, method: method, uri: "http://backend.default:8443/a?b", headers: HTTPHeaders(headers))
        var wire = String(
            buffer: encoder.head(
                try ClientRequestHead(head), path: "/a?b", hostHeader: "backend.default:8443", allocator: allocator))
        for part in body {
            encoder.body(ByteBuffer(string: part), allocator: allocator) { wire += String(buffer: $0) }
        }
        if let last = encoder.end(trailers: try trailers.map(HTTP1Trailers.with), allocator: allocator) {
            wire += String(buffer: last)
        }
        return wire
    }

    @Test func lengthFramedBodyIsSentAsItIs() throws {
        let wire = try encode(
            .POST,
            [("Host", "b"), ("Content-Length", "5"), ("Connection", "keep-alive"), ("Proxy-Authorization", "x")],
            body: ["hel", "lo"], version: .http1_0)
        #expect(wire == "POST /a?b HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\n\r\nhello")
    }

    @Test func hostIsAddedWhenMissing() throws {
        #expect(
            try encode(.GET, [("Accept", "*/*")])
                == "GET /a?b HTTP/1.1\r\nAccept: */*\r\nhost: backend.default:8443\r\n\r\n")
    }

    /// The client's codings are kept and the decoded body chunked again: a backend that reads them gets the bytes
    /// the client coded. NIO's encoder sent this body raw under `gzip, chunked`, for the backend to read as chunks.
    @Test func chunkedBodyIsChunkedAgainUnderTheClientsCodings() throws {
        let wire = try encode(
            .GET, [("Host", "b"), ("Transfer-Encoding", "gzip, chunked")], body: ["0\r\n\r\nGET /x HTTP/1.1\r\n\r\n"],
            trailers: ["X-Sum": "1"])
        #expect(
            wire
                == "GET /a?b HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                + "18\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n\r\n0\r\nX-Sum: 1\r\n\r\n")
    }

    /// An app's chunked request, read by the parser and written for the backend: trailer lines go on byte for
    /// byte, bytes that are not UTF-8 (obs-text) included; `Trailer` and framing trailers do not.
    @Test func trailerLinesGoOnAsTheyCame() throws {
        let note: [UInt8] = Array("X-Note:\tna".utf8) + [0xEF, 0x80] + Array("ve\r\n".utf8)
        let wire =
            Array("POST /u HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n".utf8)
            + Array("Trailer: X-Note\r\nHost: elsewhere\r\n".utf8) + note + Array("\r\n".utf8)
        var parser = ClientRequestParser()
        parser.receive(ByteBuffer(bytes: wire))
        var parts: [ClientRequestParser.Event] = []
        while let part = try parser.next() { parts.append(part) }
        guard parts.count == 3, case .head(let head) = parts[0], case .end(let trailers) = parts[2] else {
            Issue.record("expected a head, a body part and the end: \(parts)")
            return
        }
        var encoder = UpstreamRequestEncoder()
        let allocator = ByteBufferAllocator()
        var written = Array(
            encoder.head(head, path: "/u", hostHeader: "b", allocator: allocator).readableBytesView)
        encoder.body(ByteBuffer(string: "z"), allocator: allocator) { written += $0.readableBytesView }
        let last = encoder.end(trailers: trailers, allocator: allocator)
        written += try #require(last).readableBytesView
        let expected =
            Array("POST /u HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n".utf8) + note
            + Array("\r\n".utf8)
        #expect(written == expected, "\(String(decoding: written, as: UTF8.self).debugDescription)")
    }

    @Test(arguments: [HTTPMethod.POST, .PUT, .PATCH])
    func methodsWithBodyAreChunkedWithoutLength(method: HTTPMethod) throws {
        #expect(
            try encode(method, [("Host", "b")])
                == "\(method.rawValue) /a?b HTTP/1.1\r\nHost: b\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
    }

    @Test(arguments: [HTTPMethod.GET, .HEAD, .DELETE, .OPTIONS])
    func otherMethodsWithoutLengthHaveNoBody(method: HTTPMethod) throws {
        #expect(try encode(method, [("Host", "b")]) == "\(method.rawValue) /a?b HTTP/1.1\r\nHost: b\r\n\r\n")
    }

    @Test func traceCarriesNoBody() throws {
        let wire = try encode(.TRACE, [("Host", "b"), ("Content-Length", "3")], body: ["abc"])
        #expect(wire == "TRACE /a?b HTTP/1.1\r\nHost: b\r\n\r\n")
    }

    /// Kept lines are copied as they came: bytes that are not UTF-8 (obs-text) and the spacing around a value
    /// reach the backend unchanged.
    @Test func keptLinesArePassedOnAsTheyCame() throws {
        let app: [UInt8] =
            Array("GET /p HTTP/1.1\r\nHost: b\r\nX-Raw:\t caf".utf8) + [0xE9]
            + Array(" \r\nConnection: keep-alive\r\nX-Last: 1\r\n".utf8)
        var encoder = UpstreamRequestEncoder()
        let wire = encoder.head(
            try ClientRequestHead.read(ByteBuffer(bytes: app)), path: "/p", hostHeader: "b",
            allocator: ByteBufferAllocator())
        let expected: [UInt8] =
            Array("GET /p HTTP/1.1\r\nHost: b\r\nX-Raw:\t caf".utf8) + [0xE9] + Array(" \r\nX-Last: 1\r\n\r\n".utf8)
        #expect(Array(wire.readableBytesView) == expected)
    }

    @Test func headersTheConnectionHeaderNamesAreNotSent() throws {
        let wire = try encode(
            .GET, [("Host", "b"), ("Connection", "X-Hop"), ("X-Hop", "1"), ("TE", "trailers"), ("X", "2")])
        #expect(wire == "GET /a?b HTTP/1.1\r\nHost: b\r\nX: 2\r\n\r\n")
    }
}

/// Absolute-form targets: the authority is the URI's, sent as `Host` in place of the client's.
@Suite struct AbsoluteFormTests {
    private func target(_ method: HTTPMethod, _ uri: String, host: String? = nil) throws -> Target {
        let head = HTTPRequestHead(
            version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(host.map { [("Host", $0)] } ?? []))
        return try Target.parse(ClientRequestHead(head), defaultNamespace: "default").get()
    }

    @Test func authorityPathAndQueryComeFromTheURI() throws {
        let parsed = try target(.GET, "HTTP://svc.ns:8080?q=1", host: "other")
        #expect(parsed.hostHeader == "svc.ns:8080" && parsed.path == "/?q=1" && parsed.absoluteForm)
        #expect(try target(.GET, "http://svc/a/b?c").path == "/a/b?c")
        #expect(try target(.GET, "http://svc").path == "/")
        #expect(try target(.OPTIONS, "http://svc").path == "*")
        let origin = try target(.GET, "/x", host: "svc")
        #expect(origin.hostHeader == "svc" && !origin.absoluteForm)
    }

    @Test func hostIsReplacedByTheURIsAuthority() throws {
        var encoder = UpstreamRequestEncoder()
        let head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: "http://svc:8080/x", headers: ["Host": "other", "Accept": "*/*"])
        let wire = encoder.head(
            try ClientRequestHead(head), path: "/x", hostHeader: "svc:8080", replaceHost: true,
            allocator: ByteBufferAllocator())
        #expect(String(buffer: wire) == "GET /x HTTP/1.1\r\nAccept: */*\r\nhost: svc:8080\r\n\r\n")
    }
}
