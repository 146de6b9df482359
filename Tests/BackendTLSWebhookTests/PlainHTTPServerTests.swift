import BackendTLSServerSupport
import Foundation
import Logging
import NIOCore
import Testing

/// The probe and metrics listener (both binaries have one) against clients that misbehave: it answers in the
/// client's HTTP version, closes when asked, and lets no client hold a connection by trickling bytes or by
/// opening many.
struct PlainHTTPServerTests {
    static let client = #"""
        import socket, sys, time
        port = int(sys.argv[1])

        def exchange(request):
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(request)
                data, closed = b"", False
                try:
                    while chunk := s.recv(65536):
                        data += chunk
                    closed = True
                except socket.timeout:
                    pass
                return data.split(b"\r\n")[0].decode(), closed

        print("http/1.0", *exchange(b"GET /ok HTTP/1.0\r\n\r\n"))
        print("close", *exchange(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"GET /o")
            start = time.time()
            try:
                print("trickled", s.recv(10) == b"", time.time() - start < 1.5)
            except socket.timeout:
                print("trickled", False, False)
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as s:
            try:
                print("fourth", s.recv(10) == b"")
            except socket.timeout:
                print("fourth", False)
        """#

    @Test func misbehavingClientsHoldNothing() async throws {
        let server = PlainHTTPServer(
            name: "test", address: ListenAddress(host: "127.0.0.1", port: 0), logger: Logger(label: "test"),
            requestTimeout: .milliseconds(500), maximumConnections: 3
        ) { _, path in
            .init(status: path == "/ok" ? 200 : 404, body: Array("ok\n".utf8))
        }
        let running = Task { try await server.run() }
        defer { running.cancel() }
        var port: Int?
        for _ in 0..<500 where port == nil {
            port = server.localAddress?.port
            if port == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.client, String(try #require(port))]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "http/1.0 HTTP/1.0 200 OK True", "close HTTP/1.1 200 OK True", "trickled True True", "fourth True",
            ], "\(text)")
    }
}
