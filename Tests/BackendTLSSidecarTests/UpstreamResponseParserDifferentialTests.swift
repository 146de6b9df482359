import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

/// The parser against NIO's response decoder (llhttp), which HTTP mode used before, on generated responses, many
/// of them damaged a byte at a time, fed to both in the same random pieces: where both read a response whole,
/// they must read the same one (head, body, trailers), and the parser must never read a response whole that
/// the decoder refuses. It may refuse more (it is stricter).
@Suite struct UpstreamResponseParserDifferentialTests {
    typealias Response = UpstreamResponseParserTests.Response

    @Test func agreesWithNIOsDecoder() throws {
        var random = SplitMix64(seed: 0x5eed_b7c5)
        var agreed = 0
        var refusedOnlyByParser = 0
        for index in 0..<4000 {
            let method: HTTPMethod = random.next() % 5 == 0 ? .HEAD : .GET
            var wire = Self.response(&random, method: method)
            let damaged = index % 2 == 1
            if damaged {
                for _ in 0..<(random.next() % 4 == 0 ? 2 : 1) {
                    WireFuzzing.damage(&wire, bytes: Self.interesting, &random)
                }
            }
            let pieces = WireFuzzing.pieces(wire.count, &random)
            let ours = Self.ours(wire, method: method, pieces: pieces)
            let nio = try Self.nio(wire, method: method, pieces: pieces)
            let shared = min(ours.whole.count, nio.whole.count)
            try #require(
                Array(ours.whole.prefix(shared)) == Array(nio.whole.prefix(shared)),
                "case \(index): read differently\n\(String(decoding: wire, as: UTF8.self).debugDescription)\nours \(ours.whole)\nNIO  \(nio.whole)"
            )
            try #require(
                ours.whole.count <= nio.whole.count,
                "case \(index): the parser read a response NIO refused (\(nio.error ?? "?"))\n\(String(decoding: wire, as: UTF8.self).debugDescription)\nours \(ours.whole)"
            )
            if ours.whole.count < nio.whole.count {
                refusedOnlyByParser += 1
                // Undamaged responses are all valid: the parser must read them as NIO does.
                #expect(
                    damaged,
                    "case \(index): an undamaged response was refused: \(ours.error ?? "")\n\(String(decoding: wire, as: UTF8.self).debugDescription)"
                )
            } else {
                agreed += 1
            }
        }
        // Both sides of the comparison were exercised.
        #expect(agreed > 3000)
        #expect(refusedOnlyByParser > 0)
    }

    // MARK: The two readers

    private static func ours(
        _ wire: [UInt8], method: HTTPMethod, pieces: [Int]
    ) -> (whole: [Response], error: String?) {
        var parser = UpstreamResponseParser()
        parser.expectResponse(to: method)
        var collector = Collector()
        var offset = 0
        for count in pieces {
            do {
                try parser.parse(ByteBuffer(bytes: wire[offset..<offset + count])) { collector.add($0) }
            } catch {
                return (collector.whole, error.description)
            }
            offset += count
        }
        if parser.closed() { collector.add(.end(nil)) }
        return (collector.whole, nil)
    }

    private static func nio(
        _ wire: [UInt8], method: HTTPMethod, pieces: [Int]
    ) throws -> (whole: [Response], error: String?) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(HTTPResponseDecoder(informationalResponseStrategy: .forward)))
        try channel.writeOutbound(
            HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: "/")))
        var collector = Collector()
        var offset = 0
        do {
            for count in pieces {
                try channel.writeInbound(ByteBuffer(bytes: wire[offset..<offset + count]))
                while let part = try channel.readInbound(as: HTTPClientResponsePart.self) { collector.add(part) }
                offset += count
            }
            channel.pipeline.fireChannelInactive()
            while let part = try channel.readInbound(as: HTTPClientResponsePart.self) { collector.add(part) }
            try channel.throwIfErrorCaught()
        } catch {
            // What it decoded before the error is still waiting to be read.
            while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) { collector.add(part) }
            return (collector.whole, "\(error)")
        }
        return (collector.whole, nil)
    }

    private struct Collector {
        var whole: [Response] = []
        var current = Response()

        mutating func add(_ part: HTTPClientResponsePart) {
            switch part {
            case .head(let head): current.heads.append(UpstreamResponseParserTests.describe(head))
            case .body(let bytes): current.body += Array(bytes.readableBytesView)
            case .end(let trailers):
                current.trailers = trailers.map {
                    $0.map { "\($0.name)=\(UpstreamResponseParserTests.trimmed($0.value))" }
                }
                current.ended = true
                whole.append(current)
                current = Response()
            }
        }
    }

    // MARK: Generated responses

    /// Bytes that matter to a response's framing.
    private static let interesting: [UInt8] = Array("\r\n \t:;,0aF-".utf8) + [0x00, 0x7F, 0x80, 0xFF]

    private static func response(_ random: inout SplitMix64, method: HTTPMethod) -> [UInt8] {
        var text = ""
        if random.next() % 8 == 0 { text += "HTTP/1.1 100 Continue\r\n\r\n" }
        let http10 = random.next() % 6 == 0
        let status = ["200 OK", "201 Created", "204 No Content", "304 Not Modified", "404 ", "500 ", "302 Found"][
            Int(random.next() % 7)]
        text += "HTTP/1.\(http10 ? 0 : 1) \(status)\r\n"
        let body = String(repeating: "b", count: Int(random.next() % 40))
        let framing = random.next() % 4  // 0: length, 1: chunked, 2: none (until close), 3: length 0
        var headers = [("Server", "nginx"), ("x-Trace", "a b\tc"), ("Set-Cookie", "k=v; Path=/")].shuffled(
            using: &random
        ).prefix(Int(random.next() % 4)).map { $0 }
        switch framing {
        case 0: headers.append(("Content-Length", "\(body.utf8.count)"))
        case 1 where !http10:
            headers.append(("Transfer-Encoding", random.next() % 2 == 0 ? "chunked" : "gzip, chunked"))
        case 3: headers.append(("content-length", "0"))
        default: break
        }
        if random.next() % 3 == 0 { headers.append(("Connection", random.next() % 2 == 0 ? "keep-alive" : "close")) }
        for (name, value) in headers.shuffled(using: &random) {
            let space = ["", " ", "  ", "\t"][Int(random.next() % 4)]
            text += "\(name):\(space)\(value)\(random.next() % 5 == 0 ? " " : "")\r\n"
        }
        text += "\r\n"
        let hasBody = method != .HEAD && !status.hasPrefix("204") && !status.hasPrefix("304")
        guard hasBody else { return Array(text.utf8) }
        switch framing {
        case 0, 2: text += body
        case 1 where !http10:
            var rest = Substring(body)
            while !rest.isEmpty {
                let size = min(rest.count, 1 + Int(random.next() % 12))
                let extensions = random.next() % 4 == 0 ? ";ext=1" : ""
                text += String(size, radix: 16, uppercase: random.next() % 2 == 0) + extensions + "\r\n"
                text += rest.prefix(size) + "\r\n"
                rest = rest.dropFirst(size)
            }
            text += "0\r\n" + (random.next() % 3 == 0 ? "X-Digest: d\r\n" : "") + "\r\n"
        case 1: text += body
        default: break
        }
        return Array(text.utf8)
    }

}
