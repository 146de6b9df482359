import Foundation
import Testing

/// Backend answers nginx never gives, from a `ScriptedBackend` behind a Service without a policy (plaintext):
/// what reaches the app is either the answer as it came, or a refusal that says why — never an answer the app
/// would misread.
@Suite(.enabled(if: SidecarTools.available, "nginx, openssl or curl is not installed"))
struct SidecarUnusualAnswerTests {
    /// Starts the sidecar in front of a backend that answers every request with `answer`.
    private func withBackend(
        answering answer: [UInt8], sidecarArguments: [String] = [],
        _ body: (_ sidecarPort: Int, _ authority: String) throws -> Void
    )
        throws
    {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let backend = try ScriptedBackend(answering: answer)
        defer { backend.stop() }
        try bed.write("service.yaml", Manifest.service("scripted", ports: [("http", backend.port)]))
        let sidecar = try bed.startSidecar(arguments: sidecarArguments)
        try body(sidecar.httpPort, "scripted:\(backend.port)")
        #expect(sidecar.isRunning, "\(bed.diagnostics)")
    }

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// A transfer coding besides chunked (which no request asked for: the sidecar drops `TE`) stays named for an
    /// HTTP/1.1 app. HTTP/1.0 has no `Transfer-Encoding`, so an HTTP/1.0 app could only get the coded bytes as if
    /// they were the body: it gets a 502 that names the coding instead.
    @Test func aTransferCodingAnHTTP10AppCannotBeToldOfIsRefused() throws {
        let answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n"
        try withBackend(answering: Array(answer.utf8)) { port, authority in
            let modern = Self.text(
                try rawExchange(
                    "GET /coded HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n\r\n", port: port
                ).received)
            #expect(modern.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(modern)")
            #expect(modern.contains("\r\ntransfer-encoding: gzip, chunked\r\n"), "\(modern)")
            #expect(modern.hasSuffix("\r\n\r\n2\r\nzz\r\n0\r\n\r\n"), "\(modern)")

            let old = Self.text(
                try rawExchange("GET /coded HTTP/1.0\r\nHost: \(authority)\r\n\r\n", port: port).received)
            #expect(old.hasPrefix("HTTP/1.0 502 Bad Gateway\r\n"), "\(old)")
            #expect(
                old.contains("x-backendtls-error: upstream_protocol: the backend applied transfer coding gzip"),
                "\(old)")
            #expect(!old.contains("zz"), "\(old)")
        }
    }

    /// A backend that takes the request and sends nothing is given up after `--upstream-response-timeout`: a 504
    /// that says so, not a wait for as long as the app will wait.
    @Test func aSilentBackendIsGivenUpWith504() throws {
        try withBackend(answering: [], sidecarArguments: ["--upstream-response-timeout", "1"]) { port, authority in
            let started = Date()
            let exchange = try rawExchange(
                "GET /silent HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n\r\n", port: port)
            let waited = Date().timeIntervalSince(started)
            let received = Self.text(exchange.received)
            #expect(received.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"), "\(received)")
            #expect(received.contains("x-backendtls-error: upstream_timeout: the backend at 127.0.0.1:"), "\(received)")
            #expect(exchange.closed)
            #expect(waited >= 1 && waited < 3, "answered after \(waited) s")
        }
    }

    /// One that stops in the middle of its answer: the app's connection is closed, so the answer's length shows
    /// it was cut short; nothing is made up to complete it.
    @Test func aBackendSilentMidAnswerIsCutShort() throws {
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"
        try withBackend(answering: Array(answer.utf8), sidecarArguments: ["--upstream-response-timeout", "1"]) {
            port, authority in
            let started = Date()
            let exchange = try rawExchange("GET /stalls HTTP/1.1\r\nHost: \(authority)\r\n\r\n", port: port)
            let waited = Date().timeIntervalSince(started)
            let received = Self.text(exchange.received)
            #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(received)")
            #expect(received.hasSuffix("\r\n\r\n0123456789"), "\(received)")
            #expect(exchange.closed, "the app's connection must close: its answer will never be whole")
            #expect(waited >= 1 && waited < 3, "closed after \(waited) s")
        }
    }

    /// An answer to HEAD has no body, so its codings leave nothing to misread: an HTTP/1.0 app gets the head.
    @Test func aCodedAnswerToHEADReachesAnHTTP10App() throws {
        let answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        try withBackend(answering: Array(answer.utf8)) { port, authority in
            let received = Self.text(
                try rawExchange("HEAD /coded HTTP/1.0\r\nHost: \(authority)\r\n\r\n", port: port).received)
            #expect(received.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(received)")
            #expect(!received.contains("x-backendtls-error"), "\(received)")
        }
    }

    /// Trailer lines reach the app byte for byte, bytes that are not UTF-8 (obs-text) included; framing trailers
    /// do not.
    @Test func trailerBytesReachTheAppAsTheyCame() throws {
        let note: [UInt8] = Array("X-Note: caf".utf8) + [0xE9] + Array("\r\n".utf8)
        let answer =
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nzz\r\n0\r\n".utf8) + note
            + Array("Content-Length: 7\r\n\r\n".utf8)
        try withBackend(answering: answer) { port, authority in
            let received = try rawExchange(
                "GET /trailers HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n\r\n", port: port
            ).received
            let ending = Array("\r\n\r\n2\r\nzz\r\n0\r\n".utf8) + note + Array("\r\n".utf8)
            #expect(Array(received.suffix(ending.count)) == ending, "\(Self.text(received).debugDescription)")
        }
    }

    /// An upgrade nobody asked for (the sidecar never forwards `Upgrade`) ends HTTP on that connection: refused
    /// with a reason, and the next request is answered over a new connection.
    @Test func aSwitchNobodyAskedForIsRefused() throws {
        let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nraw bytes"
        try withBackend(answering: Array(answer.utf8)) { port, authority in
            for _ in 0..<2 {
                let received = Self.text(
                    try rawExchange(
                        "GET /switch HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n\r\n", port: port
                    ).received)
                #expect(received.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "\(received)")
                #expect(
                    received.contains("x-backendtls-error: upstream_protocol: the backend switched protocols (101)"),
                    "\(received)")
                #expect(!received.contains("raw bytes"), "\(received)")
            }
        }
    }
}
