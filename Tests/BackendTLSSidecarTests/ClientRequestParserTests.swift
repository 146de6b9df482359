import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

/// What the sidecar makes of an app's bytes: pipelined requests in pieces of any size, each framing a request may
/// have, and a refusal for anything with more than one reading; the differential test holds it to NIO's
/// decoder (llhttp), which HTTP mode used before.
@Suite struct ClientRequestParserTests {
    /// One request as the proxy sees it.
    struct Request: Equatable, CustomStringConvertible {
        var head = ""
        var body: [UInt8] = []
        var trailers: [String]?

        var description: String {
            "\(head), body \(String(decoding: body.prefix(40), as: UTF8.self).debugDescription) (\(body.count)), trailers \(trailers ?? [])"
        }
    }

    struct Collector {
        var whole: [Request] = []
        var current = Request()

        mutating func add(_ part: HTTPServerRequestPart) {
            switch part {
            case .head(let head):
                current.head =
                    "\(head.method.rawValue) \(head.uri) \(head.version) "
                    + head.headers.map { "\($0.name)=\(UpstreamResponseParserTests.trimmed($0.value))" }.joined(
                        separator: "|")
            case .body(let bytes): current.body += Array(bytes.readableBytesView)
            case .end(let trailers):
                current.trailers = trailers.map {
                    $0.map { "\($0.name)=\(UpstreamResponseParserTests.trimmed($0.value))" }
                }
                whole.append(current)
                current = Request()
            }
        }
    }

    static func parse(_ wire: [UInt8], pieces: [Int]? = nil) -> (whole: [Request], error: String?) {
        var parser = ClientRequestParser()
        var collector = Collector()
        var offset = 0
        for count in pieces ?? [wire.count] {
            do {
                try parser.parse(ByteBuffer(bytes: wire[offset..<offset + count])) { collector.add($0) }
            } catch {
                return (collector.whole, error.description)
            }
            offset += count
        }
        return (collector.whole, nil)
    }

    static func nio(_ wire: [UInt8], pieces: [Int]) throws -> (whole: [Request], error: String?) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        var collector = Collector()
        var offset = 0
        do {
            for count in pieces {
                try channel.writeInbound(ByteBuffer(bytes: wire[offset..<offset + count]))
                while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { collector.add(part) }
                offset += count
            }
        } catch {
            while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) { collector.add(part) }
            return (collector.whole, "\(error)")
        }
        return (collector.whole, nil)
    }

    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func pipelinedRequestsInPiecesOfEverySize() {
        let wire = Self.bytes(
            "GET /a HTTP/1.1\r\nHost: b\r\n\r\n\r\nPOST /c?d HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\n\r\nhello"
                + "PUT http://b:1/e HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
        )
        let whole = Self.parse(wire)
        #expect(whole.error == nil)
        #expect(
            whole.whole.map(\.head) == [
                "GET /a HTTP/1.1 Host=b", "POST /c?d HTTP/1.1 Host=b|Content-Length=5",
                "PUT http://b:1/e HTTP/1.1 Host=b|Transfer-Encoding=chunked",
            ])
        #expect(whole.whole.map(\.body) == [[], Self.bytes("hello"), Self.bytes("abc")])
        #expect(whole.whole.last?.trailers == ["X-T=1"])
        for piece in 1..<40 {
            let pieces = stride(from: 0, to: wire.count, by: piece).map { min(piece, wire.count - $0) }
            #expect(Self.parse(wire, pieces: pieces).whole == whole.whole, "pieces of \(piece)")
        }
    }

    /// After a request that ends the connection, or a CONNECT, what follows is not read as requests.
    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\nHost: b\r\n\r\n",
        "CONNECT b:443 HTTP/1.1\r\nHost: b:443\r\n\r\n",
    ])
    func nothingIsReadAfterTheLastRequest(first: String) {
        let parsed = Self.parse(Self.bytes(first + "GET /after HTTP/1.1\r\nHost: b\r\n\r\n\u{01}garbage"))
        #expect(parsed.error == nil)
        #expect(parsed.whole.count == 1)
    }

    @Test func http10KeepAliveGoesOn() {
        let parsed = Self.parse(
            Self.bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"))
        #expect(parsed.whole.count == 2)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "Host twice"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "chunked as the last"),
        ("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.0"),
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "both"),
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "twice"),
        ("GET  / HTTP/1.1\r\n\r\n", "request line"),
        ("GET / HTTP/1.1 \r\n\r\n", "request line"),
        ("GET /\u{7F} HTTP/1.1\r\n\r\n", "request line"),
        ("GET / HTTP/2.0\r\n\r\n", "request line"),
        ("G(T / HTTP/1.1\r\n\r\n", "request line"),
        ("GET / HTTP/1.1\nHost: a\r\n\r\n", "line end"),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "token"),
        ("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "folded"),
    ])
    func ambiguousOrBrokenRequestsAreRefused(wire: String, reason: String) {
        for piece in [1, wire.utf8.count] {
            let pieces = stride(from: 0, to: wire.utf8.count, by: piece).map { min(piece, wire.utf8.count - $0) }
            let parsed = Self.parse(Self.bytes(wire), pieces: pieces)
            #expect(parsed.error?.contains(reason) == true, "\(wire.debugDescription): \(parsed)")
        }
    }

    /// Generated pipelines of requests, half of them damaged a byte or two at a time, fed to both in the same
    /// random pieces: where both read a request whole they read the same one, and the parser never reads a
    /// request whole that NIO's decoder refuses.
    @Test func agreesWithNIOsDecoder() throws {
        var random = SplitMix64(seed: 0xc11e_47)
        var agreed = 0
        var refusedOnlyByParser = 0
        for index in 0..<4000 {
            var wire: [UInt8] = []
            for _ in 0..<(1 + random.next() % 3) { wire += Self.request(&random) }
            let damaged = index % 2 == 1
            if damaged {
                for _ in 0..<(random.next() % 4 == 0 ? 2 : 1) {
                    WireFuzzing.damage(&wire, bytes: Self.interesting, &random)
                }
            }
            let pieces = WireFuzzing.pieces(wire.count, &random)
            let ours = Self.parse(wire, pieces: pieces)
            let nio = try Self.nio(wire, pieces: pieces)
            let shared = min(ours.whole.count, nio.whole.count)
            let text = String(decoding: wire, as: UTF8.self).debugDescription
            try #require(
                Array(ours.whole.prefix(shared)) == Array(nio.whole.prefix(shared)),
                "case \(index): read differently\n\(text)\nours \(ours.whole)\nNIO  \(nio.whole)")
            try #require(
                ours.whole.count <= nio.whole.count,
                "case \(index): the parser read a request NIO refused (\(nio.error ?? "?"))\n\(text)\nours \(ours.whole)"
            )
            if ours.whole.count < nio.whole.count {
                refusedOnlyByParser += 1
                #expect(damaged, "case \(index): an undamaged request was refused: \(ours.error ?? "")\n\(text)")
            } else {
                agreed += 1
            }
        }
        #expect(agreed > 3000)
        #expect(refusedOnlyByParser > 0)
    }

    /// Bytes that matter to a request's framing and request line.
    private static let interesting: [UInt8] = Array("\r\n \t:;,0aF-/?H".utf8) + [0x00, 0x7F, 0x80, 0xFF]

    private static func request(_ random: inout SplitMix64) -> [UInt8] {
        let method = ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "PURGE"][Int(random.next() % 8)]
        let target = ["/", "/a/b?c=d&e", "http://backend.default:8443/x", "*", "/%20z"][Int(random.next() % 5)]
        let http10 = random.next() % 6 == 0
        var text = random.next() % 10 == 0 ? "\r\n" : ""
        text += "\(method) \(target) HTTP/1.\(http10 ? 0 : 1)\r\n"
        let body = String(repeating: "q", count: Int(random.next() % 30))
        let framing = random.next() % 3  // 0: length, 1: chunked, 2: none
        var headers = [("Host", "backend:8443"), ("User-Agent", "curl/8"), ("Accept", "*/*"), ("X-Id", "a b\tc")]
            .shuffled(using: &random).prefix(1 + Int(random.next() % 4)).map { $0 }
        switch framing {
        case 0: headers.append(("Content-Length", "\(body.utf8.count)"))
        case 1 where !http10:
            headers.append(("Transfer-Encoding", random.next() % 2 == 0 ? "chunked" : "gzip, chunked"))
        default: break
        }
        // Keep-alive, so that pipelined requests after it are read.
        headers.append(
            ("Connection", http10 ? "keep-alive" : ["keep-alive", "Keep-Alive", "x-hop"][Int(random.next() % 3)]))
        for (name, value) in headers.shuffled(using: &random) {
            text += "\(name):\(["", " ", "  "][Int(random.next() % 3)])\(value)\(random.next() % 5 == 0 ? " " : "")\r\n"
        }
        text += "\r\n"
        switch framing {
        case 0: text += body
        case 1 where !http10:
            var rest = Substring(body)
            while !rest.isEmpty {
                let size = min(rest.count, 1 + Int(random.next() % 9))
                text +=
                    String(size, radix: 16) + (random.next() % 4 == 0 ? ";e=1" : "") + "\r\n" + rest.prefix(size)
                    + "\r\n"
                rest = rest.dropFirst(size)
            }
            text += "0\r\n" + (random.next() % 3 == 0 ? "X-Sum: 1\r\n" : "") + "\r\n"
        default: break
        }
        return Array(text.utf8)
    }

    /// Once what was read is parsed (or the rest of it held as a copy), the parser keeps no hold on the buffer it
    /// came in: NIO reuses a connection's read buffer only when nobody else holds it.
    @Test(arguments: ["POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\nok", "GET / HTTP/1.1\r\nHo"])
    func readBufferIsLetGo(wire: String) throws {
        var parser = ClientRequestParser()
        let parsed = try parseLettingGo(wire, capacity: 2048) { read, count in try parser.parse(read) { _ in count() } }
        #expect(parsed.parts == (wire.hasSuffix("ok") ? 3 : 0))
        #expect(parsed.letGo)
    }
}
