import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

/// The byte tests the parsers run on every byte of a head, against their definitions.
@Suite struct HTTP1SyntaxTests {
    @Test func tokenBytesAreExactlyTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HTTP1Syntax.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    /// The memchr search finds what the standard library's search finds, in any part of a buffer.
    @Test func firstIndexAgreesWithTheStandardLibrary() {
        let bytes: [UInt8] = Array("ab:c\r\nd:\r\n\r\n::".utf8)
        bytes.withUnsafeBytes { raw in
            for start in 0...raw.count {
                for end in start...raw.count {
                    let slice = raw[start..<end]
                    for byte in [UInt8(ascii: ":"), 0x0D, 0x0A, UInt8(ascii: "z")] {
                        #expect(HTTP1Syntax.firstIndex(of: byte, in: slice) == slice.firstIndex(of: byte))
                    }
                }
            }
        }
    }

    /// The memchr line-end search decides as a scan of every byte does, for every line of up to seven bytes of `a`,
    /// CR and LF and every place a scan may resume from.
    @Test func lineEndScanAgreesWithAByteByByteScan() {
        func reference(_ bytes: [UInt8], from: Int) -> HTTP1Syntax.LineEndScan {
            for index in bytes.indices.dropFirst(from) {
                switch bytes[index] {
                case 0x0A: return .bare
                case 0x0D:
                    guard index + 1 < bytes.count else { return .incomplete }
                    return bytes[index + 1] == 0x0A ? .found(index) : .bare
                default: continue
                }
            }
            return .incomplete
        }
        var lines: [[UInt8]] = [[]]
        for _ in 1...7 {
            lines += lines.filter { $0.count == lines.last!.count }.flatMap { [$0 + [0x61], $0 + [0x0D], $0 + [0x0A]] }
        }
        #expect(lines.count == 3280)
        for line in lines {
            line.withUnsafeBytes { raw in
                for from in 0...line.count {
                    #expect(
                        HTTP1Syntax.scanLineEnd(raw, from: from) == reference(line, from: from), "\(line) from \(from)")
                }
            }
        }
    }

    @Test func bytesAreComparedExactly() {
        let cases: [(String, String)] = [
            ("", ""), ("GET", "GET"), ("GET", "get"), ("GET", "GE"), ("backend.default:26443", "backend.default:26443"),
            ("backend.default:26443", "backend.default:26444"), ("é", "é"), ("a", ""),
        ]
        for (bytes, text) in cases {
            let expected = Array(bytes.utf8) == Array(text.utf8)
            let head = HTTP1Head(bytes: ByteBuffer(string: "x" + bytes), startLine: 0..<0, fields: [])
            #expect(head.bytes(1..<1 + bytes.utf8.count, equal: text) == expected, "\(bytes) \(text)")
        }
        Array("HTTP/1.1".utf8).withUnsafeBytes { raw in
            #expect(HTTP1Syntax.bytes(raw[0..<7], are: "HTTP/1."))
            #expect(!HTTP1Syntax.bytes(raw[1..<8], are: "HTTP/1."))
            #expect(!HTTP1Syntax.bytes(raw[0..<8], are: "HTTP/1."))
            #expect(HTTP1Syntax.bytes(raw[3..<3], are: ""))
        }
    }

    /// Each name HTTP mode decides on is told apart in any case; a name one byte off, or of another length, is not.
    @Test func knownNamesAreToldApartInAnyCase() {
        let known: [(String, HTTP1Head.KnownName)] = [
            ("host", .host), ("content-length", .contentLength), ("transfer-encoding", .transferEncoding),
            ("connection", .connection), ("keep-alive", .keepAlive), ("te", .te), ("upgrade", .upgrade),
            ("proxy-connection", .proxyConnection), ("proxy-authenticate", .proxyAuthenticate),
            ("proxy-authorization", .proxyAuthorization),
        ]
        for (name, kind) in known {
            #expect(HTTP1Head.KnownName(name) == kind)
            #expect(HTTP1Head.KnownName(name.uppercased()) == kind)
            #expect(HTTP1Head.KnownName(name.capitalized) == kind)
            #expect(HTTP1Head.KnownName(String(name.dropLast()) + "x") == .other, "\(name)")
            #expect(HTTP1Head.KnownName(name + "s") == .other, "\(name)")
            #expect(HTTP1Head.KnownName(String(name.dropFirst())) == .other, "\(name)")
        }
        #expect(HTTP1Head.KnownName("x-forwarded-for") == .other)
        #expect(HTTP1Head.KnownName("") == .other)
    }

    /// The word test finds every byte below 0x20 and 0x7F at every place in a word, and nothing else.
    @Test func wordTestFindsEveryControlByteAtEveryPlace() {
        for byte in UInt8.min...UInt8.max {
            for place in 0..<8 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[place] = byte
                let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                #expect(
                    HTTP1Syntax.hasByteBelowSpaceOrDelete(word) == (byte < 0x20 || byte == 0x7F), "\(byte) at \(place)")
            }
        }
    }

    /// Values checked eight bytes at a time agree with the byte-by-byte rule, at every start and length, with tabs,
    /// obs-text and control bytes anywhere.
    @Test func fieldValuesCheckedByWordAgreeWithTheByteRule() {
        var generator = SplitMix64(seed: 7)
        let alphabet: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x41, 0x7E, 0x7F, 0x80, 0xE9, 0xFF]
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 40)
            // Mostly visible bytes, so that long valid runs (whole words) are common.
            let bytes = (0..<count).map { _ -> UInt8 in
                generator.next() % 6 == 0
                    ? alphabet[Int(generator.next() % UInt64(alphabet.count))] : UInt8(0x21 + generator.next() % 94)
            }
            bytes.withUnsafeBytes { raw in
                // Slices that end before the buffer does too, as a value followed by its line's CRLF does.
                for start in 0...min(count, 9) {
                    for end in Set([count, max(start, count - 1), max(start, count - 3)]) {
                        let slice = raw[start..<end]
                        #expect(
                            HTTP1Syntax.areFieldValueBytes(slice) == slice.allSatisfy(HTTP1Syntax.isFieldValueByte),
                            "\(bytes) from \(start) to \(end)")
                    }
                }
            }
        }
    }

    /// The codings besides chunked come from every `Transfer-Encoding` line, in order, and `chunked` is told in any
    /// case: an HTTP/1.0 client is refused an answer with any of them.
    @Test func codingsBesideChunkedAreReadFromEveryLine() throws {
        let head = try UpstreamResponseHead.read(
            ByteBuffer(
                string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nX-A: b\r\nTransfer-Encoding: br, CHUNKED\r\n")
        ).get()
        #expect(head.lines.codingsBesideChunked.map(head.lines.text) == ["gzip", "br"])
        let plain = try UpstreamResponseHead.read(
            ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n")
        ).get()
        #expect(plain.lines.codingsBesideChunked.isEmpty)
    }

    /// Matched by case, as `==` decides (which compares the methods' names).
    @Test func methodCasesAgreeWithEquality() {
        let methods: [HTTPMethod] = [
            .GET, .HEAD, .POST, .PUT, .PATCH, .DELETE, .CONNECT, .OPTIONS, .TRACE, .RAW(value: "X"),
        ]
        for method in methods {
            #expect(method.isHEAD == (method == .HEAD))
            #expect(method.isCONNECT == (method == .CONNECT))
            #expect(method.isTRACE == (method == .TRACE))
            #expect(method.isOPTIONS == (method == .OPTIONS))
            #expect(method.sendsBody == [.POST, .PUT, .PATCH].contains(method))
        }
    }

    /// Never ahead of the precise clock, and behind it by no more than a few ticks; the minute is the wall clock's.
    @Test func coarseClockFollowsThePreciseOne() {
        for _ in 0..<1000 {
            let before = NIODeadline.now()
            let coarse = CoarseClock.now()
            #expect(coarse <= NIODeadline.now())
            #expect(before - coarse < .milliseconds(50))
        }
        let minute = Int(Date().timeIntervalSince1970) / 60
        #expect((minute...minute + 1).contains(CoarseClock.minutesSince1970()))
    }
}
