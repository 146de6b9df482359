import Foundation
import Testing

/// HTTP/1.1 as an application speaks it to the sidecar's HTTP mode, against real nginx over verified TLS:
/// large bodies stream both ways in bounded memory, a slow reader holds the backend back instead of filling
/// the sidecar, pipelined requests keep their order, and HTTP/1.0 and `Connection: close` end the connection.
/// Raw exchanges go through a short Python script so the bytes on the wire are exactly the test's.
@Suite(.enabled(if: SidecarTools.available, "nginx, openssl or curl is not installed"))
struct SidecarHTTPProtocolTests {
    /// Large enough that holding a body in memory shows in the sidecar's RSS, small enough to move fast.
    static let largeBodyBytes = 96 << 20
    /// The most the sidecar's peak RSS may grow while a large body passes through.
    static let memoryGrowthLimitKiB = 32 << 10

    /// `count` random bytes in a new file.
    private func randomFile(_ url: URL, count: Int) throws {
        let made = try ProcessRunner.run("sh", ["-c", "head -c \(count) /dev/urandom > '\(url.path)'"])
        #expect(made.status == 0, "\(made.standardError)")
    }

    private func sameContents(_ first: URL, _ second: URL) throws -> Bool {
        try ProcessRunner.run("cmp", ["-s", first.path, second.path]).status == 0
    }

    // MARK: Streaming

    /// curl uploads (with `Expect: 100-continue`, as it does for large bodies) and downloads a body far larger
    /// than the growth allowed: the bytes arrive intact and the sidecar never holds the body.
    @Test func largeBodiesStreamBothWaysInBoundedMemory() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let original = bed.directory.appendingPathComponent("original.bin")
        let downloaded = bed.directory.appendingPathComponent("downloaded.bin")
        try randomFile(original, count: Self.largeBodyBytes)
        let before = sidecar.memoryKiB()

        let upload = try ProcessRunner.run(
            SidecarTools.curl,
            [
                // A request first, so the upload goes over the pooled upstream connection (curl keeps its
                // connection to the sidecar across --next).
                "-sS", "--noproxy", "*", "-o", "/dev/null", "-H", "Host: backend:\(port)",
                "http://127.0.0.1:\(sidecar.httpPort)/echo/warm", "--next",
                "-v", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}", "-T", original.path, "-H",
                "Expect: 100-continue", "-H", "Host: backend:\(port)",
                "http://127.0.0.1:\(sidecar.httpPort)/files/uploaded.bin",
            ])
        #expect(upload.standardOutput == "201", "PUT: \(upload.standardOutput) \(upload.standardError)")
        // nginx's interim answer reached curl, which then sent the body; only the final answer is counted.
        #expect(upload.standardError.contains("< HTTP/1.1 100 Continue"), "\(upload.standardError)")
        #expect(!upload.standardError.contains("Done waiting for 100-continue"), "\(upload.standardError)")
        #expect(upload.standardError.contains("Re-using existing connection"), "\(upload.standardError)")
        #expect(try sidecar.metric("backendtls_sidecar_requests_total", ["code": "100"]) == 0)
        #expect(try sidecar.metric("backendtls_sidecar_requests_total", ["code": "201"]) == 1)
        #expect(
            try sameContents(original, bed.nginx.fileDirectory.appendingPathComponent("uploaded.bin")),
            "nginx stored other bytes than were sent\n\(bed.diagnostics)")

        let download = try ProcessRunner.run(
            SidecarTools.curl,
            [
                "-sS", "--noproxy", "*", "-o", downloaded.path, "-w", "%{http_code}", "-H", "Host: backend:\(port)",
                "http://127.0.0.1:\(sidecar.httpPort)/files/uploaded.bin",
            ])
        #expect(download.standardOutput == "200", "GET: \(download.standardOutput) \(download.standardError)")
        #expect(try sameContents(original, downloaded), "the download differs from the upload")

        let growth = sidecar.memoryKiB("VmHWM") - before
        #expect(
            growth < Self.memoryGrowthLimitKiB,
            "peak RSS grew by \(growth) KiB moving \(Self.largeBodyBytes >> 20) MiB each way")
        #expect(
            bed.nginx.waitForAccessLog(count: 3).map(\.request) == [
                "GET /echo/warm HTTP/1.1", "PUT /files/uploaded.bin HTTP/1.1", "GET /files/uploaded.bin HTTP/1.1",
            ], "\(bed.diagnostics)")
    }

    /// A client that stops reading: the sidecar stops reading from the backend (back-pressure) rather than
    /// buffering the response, and the whole body still arrives once the client reads again.
    @Test func slowReaderHoldsTheBackendBackInsteadOfFillingTheSidecar() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        try randomFile(bed.nginx.fileDirectory.appendingPathComponent("large.bin"), count: Self.largeBodyBytes)
        let script = #"""
            import socket, sys, time
            port, pid, authority = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            def rss():
                return int([l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:")][0])
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(30)
                s.connect(("127.0.0.1", port))
                before = rss()
                s.sendall(f"GET /files/large.bin HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n".encode())
                time.sleep(2)
                stalled = rss()
                data = bytearray()
                while chunk := s.recv(1 << 20):
                    data += chunk
                body_length = len(data) - data.find(b"\r\n\r\n") - 4
                print(stalled - before, body_length, data[:data.find(b"\r\n")].decode())
            """#
        let output = try ProcessRunner.run(
            "python3", ["-c", script, String(sidecar.httpPort), String(sidecar.processIdentifier), "backend:\(port)"])
        let fields = output.standardOutput.split(separator: " ", maxSplits: 2).map(String.init)
        #expect(fields.count == 3, "\(output.standardOutput) \(output.standardError)")
        guard fields.count == 3, let growth = Int(fields[0]), let received = Int(fields[1]) else { return }
        #expect(fields[2].hasPrefix("HTTP/1.1 200"), "\(fields[2])")
        #expect(received == Self.largeBodyBytes, "the body was cut short\n\(bed.diagnostics)")
        #expect(growth < Self.memoryGrowthLimitKiB, "RSS grew by \(growth) KiB while the client did not read")
    }

    /// A response that ends before its request does (nginx answers a GET at its head and discards the body), on a
    /// connection that does not stay alive: the sidecar drops the rest of the request and closes the connection,
    /// but only once the whole response is written. It closed at the request's end, and NIO's close drops what is
    /// still to be written: a client that had not read yet got the response cut short.
    ///
    /// For a client that does not read, the kernel takes in the first few MiB of a response (the sidecar's send
    /// queue and the client's receive queue); only a response that ends within about 100 KiB beyond that leaves
    /// the sidecar holding its last bytes. So the script measures that amount on one connection (from
    /// /proc/net/tcp) and then asks for responses just larger (rounds of 12), and reports what the sidecar held: at least one
    /// must have been held whole by it (no more than NIO's low write watermark, 32 KiB, so it had read the
    /// response's end). A request sent after the one that closes the connection must not reach the backend.
    @Test func earlyResponseIsWrittenInFullBeforeTheConnectionCloses() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let script = #"""
            import os, socket, sys, time
            port, authority, files = int(sys.argv[1]), sys.argv[2], sys.argv[3]

            def request(size):
                s = socket.socket()
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                s.sendall(f"GET /files/early-{size}.bin HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n"
                          "Content-Length: 10\r\n\r\n12345".encode())
                time.sleep(0.3)  # the response comes back and waits to be read
                return s

            def queue(local, remote, field):  # tx_queue (4) or rx_queue (5) of a loopback connection
                for line in open("/proc/net/tcp").read().splitlines()[1:]:
                    f = line.split()
                    if int(f[1].split(":")[1], 16) == local and int(f[2].split(":")[1], 16) == remote:
                        return int(f[4].split(":")[field - 4], 16)
                sys.exit(f"no connection {local} -> {remote} in /proc/net/tcp")

            def make(size):
                with open(f"{files}/early-{size}.bin", "wb") as f:
                    f.write(os.urandom(size))

            make(64 << 20)
            probe = request(64 << 20)
            client = probe.getsockname()[1]
            taken = queue(port, client, 4) + queue(client, port, 5)
            probe.close()
            # What the kernel takes varies a little between connections, more on a loaded machine: each size is
            # aimed past the last connection's share, and a round that saw no response held whole is repeated.
            offsets = [(kib << 10) for kib in (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 192)]
            for _ in range(3):
                held_whole = False
                for offset in offsets:
                    size = taken + offset
                    make(size)
                    with request(size) as s:
                        client = s.getsockname()[1]
                        taken = queue(port, client, 4) + queue(client, port, 5)
                        held = size - taken
                        held_whole = held_whole or 0 < held <= 32 << 10
                        # The end of the request, and another request after it in the same write (one sent later is
                        # the next test's case).
                        s.sendall(b"67890" + f"GET /echo/after-close HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
                        time.sleep(0.2)
                        data = bytearray()
                        while chunk := s.recv(1 << 20):
                            data += chunk
                        body = len(data) - data.find(b"\r\n\r\n") - 4
                        print(size, body, held, data[:data.find(b"\r\n")].decode())
                    os.remove(f"{files}/early-{size}.bin")
                if held_whole:
                    break
            """#
        let output = try ProcessRunner.run(
            "python3", ["-c", script, String(sidecar.httpPort), "backend:\(port)", bed.nginx.fileDirectory.path])
        let exchanges = output.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(exchanges.count >= 12, "\(output.standardOutput) \(output.standardError)")
        var heldWhole = 0
        for fields in exchanges where fields.count == 6 {
            #expect(fields[1] == fields[0], "a \(fields[0])-byte response came back with \(fields[1])")
            #expect(fields[3...].joined(separator: " ") == "HTTP/1.1 200 OK", "\(fields)")
            if let held = Int(fields[2]), held > 0, held <= 32 << 10 { heldWhole += 1 }
        }
        #expect(heldWhole > 0, "no response was held whole by the sidecar: \(output.standardOutput)")
        #expect(
            !bed.nginx.accessLog.contains { $0.request.contains("after-close") },
            "a request after the closing one reached the backend\n\(bed.diagnostics)")
    }

    /// An upload the backend refuses early (nginx answers 413 to a body over its 1 MiB limit before reading
    /// it): the rest of the body is read and dropped, and the next request on the connection is answered.
    @Test func refusedUploadIsDroppedAndTheConnectionGoesOn() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let script = #"""
            import socket, sys, threading, time
            port, authority = int(sys.argv[1]), sys.argv[2]
            size = 32 << 20
            s = socket.create_connection(("127.0.0.1", port))
            s.settimeout(20)
            s.sendall(f"POST /echo/big HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {size}\r\n\r\n".encode())
            def send_body():
                chunk = b"x" * 65536
                try:
                    for _ in range(size // len(chunk)):
                        s.sendall(chunk)
                    s.sendall(f"GET /echo/next HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
                except OSError as error:
                    print("send failed:", error)
            sender = threading.Thread(target=send_body, daemon=True)
            sender.start()
            data, deadline = bytearray(), time.time() + 20
            try:
                while b"/echo/next" not in data and time.time() < deadline:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                pass
            print(" ".join(line.decode().split(" ")[1] for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")),
                  "next" if b"/echo/next HTTP/1.1" in data else "no-next")
            """#
        let output = try ProcessRunner.run("python3", ["-c", script, String(sidecar.httpPort), "backend:\(port)"])
        #expect(
            output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "413 200 next",
            "\(output.standardOutput) \(output.standardError)\n\(bed.diagnostics)")
    }

    /// A client that sends more after a request that closes the connection (here a pipelined request, in a
    /// later write) while the end of the answer is still on its way: the sidecar lingers, so the client still
    /// gets the whole answer and then the connection's end. A full close at that moment makes the kernel answer
    /// the client's bytes with a reset, which discards the answer's bytes not yet sent: the script reads slowly
    /// until the sidecar has closed its sending side (FIN_WAIT1 in /proc/net/tcp) while still holding bytes of
    /// the answer, then sends. The request after the closing one must not reach the backend.
    @Test func closingConnectionLingersForAClientThatSendsMore() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        try randomFile(bed.nginx.fileDirectory.appendingPathComponent("linger.bin"), count: 8 << 20)
        let script = #"""
            import socket, sys, time
            port, authority = int(sys.argv[1]), sys.argv[2]

            def sidecar_side(client):  # (state, bytes not yet acknowledged) of the sidecar's end
                for line in open("/proc/net/tcp").read().splitlines()[1:]:
                    f = line.split()
                    if int(f[1].split(":")[1], 16) == port and int(f[2].split(":")[1], 16) == client:
                        return int(f[3], 16), int(f[4].split(":")[0], 16)
                return None, 0

            for _ in range(3):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                    s.settimeout(20)
                    s.connect(("127.0.0.1", port))
                    client = s.getsockname()[1]
                    s.sendall(f"GET /files/linger.bin HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
                              .encode())
                    data, held, deadline = bytearray(), 0, time.time() + 20
                    while time.time() < deadline:
                        state, unsent = sidecar_side(client)
                        if state in (0x04, 0x0B):  # FIN_WAIT1, CLOSING: its sending side is shut
                            held = unsent
                            break
                        data += s.recv(65536)
                        time.sleep(0.005)
                    s.sendall(f"GET /echo/after-close HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
                    time.sleep(0.2)
                    try:
                        while chunk := s.recv(1 << 20):
                            data += chunk
                        outcome = "eof"
                    except ConnectionResetError:
                        outcome = "reset"
                    print(held, len(data) - data.find(b"\r\n\r\n") - 4, outcome)
            """#
        let output = try ProcessRunner.run("python3", ["-c", script, String(sidecar.httpPort), "backend:\(port)"])
        let rounds = output.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rounds.count == 3, "\(output.standardOutput) \(output.standardError)")
        for round in rounds {
            #expect(Array(round.dropFirst()) == ["\(8 << 20)", "eof"], "held, body, end: \(round)")
        }
        #expect(
            rounds.contains { (Int($0.first ?? "") ?? 0) > 0 },
            "the sidecar never closed while holding bytes of the answer: \(output.standardOutput)")
        #expect(
            !bed.nginx.accessLog.contains { $0.request.contains("after-close") },
            "a request after the closing one reached the backend\n\(bed.diagnostics)")
    }

    /// A backend that sends its head and then its body slowly (nginx at 2 KiB/s): the head, with the little of the
    /// body that came with it, reaches the app when that first read ends, not with the rest of the body. The sidecar
    /// holds a head to write it with a small body in one piece, and lets it go at the end of each upstream read.
    @Test func headOfASlowAnswerIsNotHeldBack() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        try randomFile(bed.nginx.fileDirectory.appendingPathComponent("slow.bin"), count: 8 << 10)
        let script = #"""
            import socket, sys, time
            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30) as s:
                started = time.monotonic()
                s.sendall(f"GET /slow/slow.bin HTTP/1.1\r\nHost: {sys.argv[2]}\r\n\r\n".encode())
                data = bytearray()
                while b"\r\n\r\n" not in data:
                    data += s.recv(65536)
                head = time.monotonic() - started
                length = int(data.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                body = lambda: len(data) - data.find(b"\r\n\r\n") - 4
                while body() < length:
                    data += s.recv(65536)
                print(f"{head:.2f} {time.monotonic() - started:.2f} {body()}")
            """#
        let output = try ProcessRunner.run("python3", ["-c", script, String(sidecar.httpPort), "backend:\(port)"])
        let fields = output.standardOutput.split(separator: " ").map {
            String($0).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(fields.count == 3, "\(output.standardOutput) \(output.standardError)\n\(bed.diagnostics)")
        guard fields.count == 3, let head = Double(fields[0]), let whole = Double(fields[1]) else { return }
        #expect(fields[2] == "\(8 << 10)")
        // The body took seconds (so the backend did send it slowly), and the head came long before its end.
        #expect(whole >= 2, "the body came in \(whole) s")
        #expect(head < 1, "the head came after \(head) s, the whole answer after \(whole) s")
    }

    /// TCP mode: the backend sends a large response and closes; a client that reads slowly still gets every
    /// byte. The relay closed the client's connection as soon as the backend's did, which dropped what it
    /// still held for the client.
    @Test func tcpRouteDeliversAllOfAResponseTheBackendClosedAfter() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, _) = try bed.startTrustedBackend(tcpRoute: true)
        try randomFile(bed.nginx.fileDirectory.appendingPathComponent("large.bin"), count: 8 << 20)
        let script = #"""
            import socket, sys, time
            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
                s.sendall(b"GET /files/large.bin HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
                data = bytearray()
                while chunk := s.recv(16384):
                    data += chunk
                    time.sleep(0.001)
                print(len(data) - data.find(b"\r\n\r\n") - 4, data[:data.find(b"\r\n")].decode())
            """#
        for _ in 0..<3 {
            let output = try ProcessRunner.run("python3", ["-c", script, String(sidecar.routePorts[0])])
            #expect(
                output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "\(8 << 20) HTTP/1.1 200 OK",
                "\(output.standardError)\n\(bed.diagnostics)")
        }
    }

    /// `--client-idle-timeout 1`: a client that never finishes its request head, sits on a keep-alive
    /// connection, or stops sending the body of a request already refused, is closed, and one that stops sending
    /// a body the backend is waiting for is answered 408; one that merely stops reading a response in flight for
    /// longer keeps it.
    @Test func idleClientsAreClosedButNotWhileAResponseIsInFlight() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend(arguments: ["--client-idle-timeout", "1"])
        try randomFile(bed.nginx.fileDirectory.appendingPathComponent("medium.bin"), count: 16 << 20)
        let script = #"""
            import socket, sys, time
            port, authority = int(sys.argv[1]), sys.argv[2]
            def closed_within(s, seconds):
                s.settimeout(seconds)
                start = time.time()
                try:
                    while s.recv(65536):
                        pass
                    return round(time.time() - start)
                except socket.timeout:
                    return "open"
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(f"GET /echo/never-finished HTTP/1.1\r\nHost: {authority}".encode())
                print("partial head:", closed_within(s, 5))
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(f"GET /echo/once HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
                print("keep-alive:", closed_within(s, 5))
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect(("127.0.0.1", port))
                s.sendall(f"GET /files/medium.bin HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n".encode())
                time.sleep(3)
                s.settimeout(10)
                data = bytearray()
                while chunk := s.recv(1 << 20):
                    data += chunk
                print("stalled reader:", len(data) - data.find(b"\r\n\r\n") - 4)
            with socket.create_connection(("127.0.0.1", port)) as s:
                # Refused at once (not a Service name: 400); the rest of its body never comes.
                s.sendall(b"POST /echo/refused HTTP/1.1\r\nHost: not_a_service\r\nContent-Length: 1000000\r\n\r\nabc")
                print("abandoned body:", closed_within(s, 5))
            with socket.create_connection(("127.0.0.1", port)) as s:
                # Forwarded to the backend, which waits for the rest of the body; the client never sends it.
                s.sendall(f"PUT /files/stalled.bin HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 1000\r\n\r\nabc".encode())
                s.settimeout(5)
                start, data = time.time(), b""
                try:
                    while chunk := s.recv(65536):
                        data += chunk
                    print("stalled body:", round(time.time() - start), data.split(b"\r\n")[0].decode())
                except socket.timeout:
                    print("stalled body: open")
            """#
        let output = try ProcessRunner.run("python3", ["-c", script, String(sidecar.httpPort), "backend:\(port)"])
        let lines = output.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(output.standardOutput) \(output.standardError)")
        // Closed after about a second (an idle check runs each second), not left open.
        #expect(["partial head: 1", "partial head: 2"].contains(lines.first ?? ""), "\(lines)")
        #expect(["keep-alive: 1", "keep-alive: 2"].contains(lines.dropFirst().first ?? ""), "\(lines)")
        #expect(lines.dropFirst(2).first == "stalled reader: \(16 << 20)", "\(lines)\n\(bed.diagnostics)")
        #expect(["abandoned body: 1", "abandoned body: 2"].contains(lines.dropFirst(3).first ?? ""), "\(lines)")
        // One that stops sending a body the backend waits for is answered 408 and closed.
        #expect(
            ["stalled body: 1 HTTP/1.1 408 Request Timeout", "stalled body: 2 HTTP/1.1 408 Request Timeout"].contains(
                lines.last ?? ""), "\(lines)")
    }

    /// `--client-send-timeout 1`: a client that takes none of a large answer is closed about a second after the
    /// answer backs up, and its backend connection with it (reading from the backend was paused for it); one that
    /// reads on steadily gets all of it, however many checks long its download is. The idle test above holds the
    /// default: a client that pauses for 3 s gets its whole answer.
    @Test func clientTakingNoneOfItsAnswerIsClosed() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend(arguments: ["--client-send-timeout", "1"])
        try randomFile(bed.nginx.fileDirectory.appendingPathComponent("stalled.bin"), count: 32 << 20)
        let script = #"""
            import socket, sys, time
            port, authority, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            with socket.socket() as s:
                if mode == "stall":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect(("127.0.0.1", port))
                s.sendall(f"GET /files/stalled.bin HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n".encode())
                s.settimeout(10)
                data, closed = bytearray(), False
                if mode == "stall":
                    time.sleep(4)
                try:
                    while chunk := s.recv(256 << 10):
                        data += chunk
                        if mode == "steady":
                            # About 4 MiB/s for 8 s, many checks long: what waits in the sidecar grows again each
                            # time the connection turns writable, and the check still sees the progress.
                            time.sleep(1 / 16)
                    closed = True
                except (socket.timeout, ConnectionResetError):
                    closed = not isinstance(sys.exc_info()[1], socket.timeout)
                print("closed" if closed else "open", len(data) - data.find(b"\r\n\r\n") - 4)
            """#
        let client = { (mode: String) throws -> String in
            let output = try ProcessRunner.run(
                "python3", ["-c", script, String(sidecar.httpPort), "backend:\(port)", mode])
            return output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) + output.standardError
        }
        let stalled = try client("stall").split(separator: " ")
        #expect(stalled.first == "closed", "\(stalled)\n\(bed.diagnostics)")
        #expect((stalled.last.flatMap { Int($0) } ?? .max) < 32 << 20, "\(stalled)")
        #expect(sidecar.log.contains("took none of its answer"), "\(sidecar.log)")
        #expect(
            try eventually { try sidecar.metric("backendtls_sidecar_upstream_connections") == 0 },
            "the backend connection stayed open")
        #expect(try client("steady") == "closed \(32 << 20)", "\(bed.diagnostics)")
    }

    /// A refusal that closes the connection before the request's body has ended: the answer is followed by the
    /// connection's end at once (the rest of the body is dropped while it lingers), not held open until the body
    /// ends, which a client that goes on sending would put off for ever.
    @Test func refusalThatClosesDoesNotWaitForTheBody() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, _) = try bed.startTrustedBackend()
        let result = try exchange(
            "POST /x HTTP/1.1\r\nHost: no-such-service\r\nConnection: close\r\nContent-Length: 1000000\r\n\r\nabc",
            port: sidecar.httpPort)
        #expect(result.received.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "\(result.received)")
        #expect(result.closed, "\(result.received)\n\(bed.diagnostics)")
    }

    // MARK: Connection handling

    /// Sends `wire` in one write and reads until the sidecar closes the connection (or 10 s pass).
    private func exchange(_ wire: String, port: Int) throws -> (received: String, closed: Bool) {
        let (received, closed) = try rawExchange(wire, port: port)
        return (String(decoding: received, as: UTF8.self), closed)
    }

    /// The bodies of the HTTP/1.1 responses in `received`, in order (nginx's answers carry Content-Length).
    private func bodies(_ received: String) -> [String] {
        var rest = Substring(received)
        var found: [String] = []
        while let headEnd = rest.range(of: "\r\n\r\n") {
            let head = rest[..<headEnd.lowerBound].lowercased()
            let length =
                head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let body = rest[headEnd.upperBound...].prefix(length)
            found.append(String(body))
            rest = rest[headEnd.upperBound...].dropFirst(length)
        }
        return found
    }

    /// Three requests in one write: three answers in request order; the last asked to close, so the sidecar
    /// closes after it.
    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let host = "Host: backend:\(port)\r\n"
        let wire =
            "GET /echo/1 HTTP/1.1\r\n\(host)\r\n" + "GET /echo/2 HTTP/1.1\r\n\(host)\r\n"
            + "GET /echo/3 HTTP/1.1\r\n\(host)Connection: close\r\n\r\n"
        let (received, closed) = try exchange(wire, port: sidecar.httpPort)
        #expect(
            bodies(received) == ["/echo/1 HTTP/1.1\n", "/echo/2 HTTP/1.1\n", "/echo/3 HTTP/1.1\n"],
            "\(received)\n\(bed.diagnostics)")
        #expect(closed, "the connection stayed open after Connection: close")
        #expect(received.lowercased().components(separatedBy: "connection: close").count == 2, "\(received)")
    }

    /// Header bytes HTTP forbids (a control character, a line break inside a value) end in a 400 before
    /// anything is forwarded: the parser's checks are what keep the sidecar from passing them on.
    @Test(arguments: ["X-Injected: a\u{01}b", "X-Injected: a\rX-Smuggled: b"])
    func forbiddenHeaderBytesAreRefusedBeforeForwarding(_ header: String) throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let (received, closed) = try exchange(
            "GET /echo/bad HTTP/1.1\r\nHost: backend:\(port)\r\n\(header)\r\n\r\n", port: sidecar.httpPort)
        #expect(received.hasPrefix("HTTP/1.1 400 "), "\(received.debugDescription)")
        #expect(closed)
        expectNoRequestArrived(at: bed)
    }

    private func expectNoRequestArrived(at bed: SidecarTestbed, sourceLocation: SourceLocation = #_sourceLocation) {
        usleep(300_000)
        #expect(bed.nginx.accessLog.isEmpty, "\(bed.diagnostics)", sourceLocation: sourceLocation)
    }

    /// An HTTP/1.0 request is answered and the connection closed (HTTP/1.0 has no keep-alive by default);
    /// upstream it travels as HTTP/1.1 over the pooled TLS connection.
    @Test func http10RequestIsAnsweredThenTheConnectionCloses() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let (received, closed) = try exchange(
            "GET /echo/old HTTP/1.0\r\nHost: backend:\(port)\r\n\r\n", port: sidecar.httpPort)
        #expect(received.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(received)")
        #expect(bodies(received) == ["/echo/old HTTP/1.1\n"], "\(received)\n\(bed.diagnostics)")
        #expect(closed, "the connection stayed open after an HTTP/1.0 response")
    }

    /// A backend answer without a length reaches HTTP/1.1 clients chunked, and HTTP/1.0 clients (which have no
    /// chunked coding) as a body that ends when the sidecar closes the connection.
    @Test func bodyWithoutALengthIsChunkedOnlyForHTTP11Clients() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let modern = try exchange(
            "GET /chunked/ HTTP/1.1\r\nHost: backend:\(port)\r\nConnection: close\r\n\r\n", port: sidecar.httpPort)
        #expect(modern.received.lowercased().contains("\r\ntransfer-encoding: chunked\r\n"), "\(modern.received)")
        #expect(modern.received.hasSuffix("\r\n0\r\n\r\n"), "\(modern.received.debugDescription)")

        let old = try exchange("GET /chunked/ HTTP/1.0\r\nHost: backend:\(port)\r\n\r\n", port: sidecar.httpPort)
        let parts = old.received.components(separatedBy: "\r\n\r\n")
        #expect(parts.first?.hasPrefix("HTTP/1.0 200 OK\r\n") == true, "\(old.received)")
        #expect(parts.first?.lowercased().contains("transfer-encoding") == false, "\(old.received)")
        #expect(parts.dropFirst().joined(separator: "\r\n\r\n") == "body without a chunks\n", "\(old.received)")
        #expect(old.closed)
    }

    /// Sends each request on one connection after the previous answer has arrived; per answer, its status
    /// line, its `Connection` header (`-` without one) and its body, trimmed.
    private func sequentially(_ requests: [String], port: Int) throws -> [String] {
        let script = #"""
            import socket, sys
            with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
                for request in sys.argv[2:]:
                    s.sendall(request.encode())
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += s.recv(65536)
                    head, body = data.split(b"\r\n\r\n", 1)
                    lines = head.decode().split("\r\n")
                    fields = {l.split(":")[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
                    while len(body) < int(fields["content-length"]):
                        body += s.recv(65536)
                    print(f"{lines[0]} | {fields.get('connection', '-')} | {body.decode().strip()}")
            """#
        let output = try ProcessRunner.run("python3", ["-c", script, String(port)] + requests)
        #expect(output.status == 0, "\(output.standardError)")
        return output.standardOutput.split(separator: "\n").map(String.init)
    }

    /// An HTTP/1.0 client that asks for keep-alive gets it confirmed (HTTP/1.0 closes otherwise) and can
    /// send its next request on the same connection.
    @Test func http10KeepAliveIsConfirmedAndHonoured() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let answers = try sequentially(
            ["/echo/one", "/echo/two"].map {
                "GET \($0) HTTP/1.0\r\nHost: backend:\(port)\r\nConnection: keep-alive\r\n\r\n"
            }, port: sidecar.httpPort)
        #expect(
            answers == [
                "HTTP/1.0 200 OK | keep-alive | /echo/one HTTP/1.1",
                "HTTP/1.0 200 OK | keep-alive | /echo/two HTTP/1.1",
            ], "\(answers)\n\(bed.diagnostics)")
    }

    /// Hop-by-hop headers stay on the app's connection: the fixed ones (`Upgrade`, `TE`) and those the
    /// `Connection` header names; end-to-end headers travel on.
    @Test func hopByHopHeadersAreNotForwarded() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let (received, _) = try exchange(
            "GET /headers/ HTTP/1.1\r\nHost: backend:\(port)\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\n"
                + "Upgrade: websocket\r\nTE: trailers\r\nX-End: kept\r\n\r\n", port: sidecar.httpPort)
        #expect(bodies(received) == ["x-hop=[] upgrade=[] te=[] x-end=[kept]\n"], "\(received)\n\(bed.diagnostics)")
    }

    /// `Connection` naming the framing headers does not make them hop-by-hop: the body is still framed for
    /// the backend, which would otherwise read it as the next request on the pooled connection.
    @Test func connectionNamingContentLengthKeepsTheBodyFramed() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        // GET: without a length NIO's encoder sends a GET's body unframed (a POST's would be chunked).
        let answers = try sequentially(
            [
                "GET /echo/first HTTP/1.1\r\nHost: backend:\(port)\r\nConnection: content-length\r\n"
                    + "Content-Length: 26\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
                "GET /echo/next HTTP/1.1\r\nHost: backend:\(port)\r\n\r\n",
            ], port: sidecar.httpPort)
        #expect(
            answers == ["HTTP/1.1 200 OK | - | /echo/first HTTP/1.1", "HTTP/1.1 200 OK | - | /echo/next HTTP/1.1"],
            "\(answers)")
        #expect(
            bed.nginx.waitForAccessLog(count: 2).map(\.request) == [
                "GET /echo/first HTTP/1.1", "GET /echo/next HTTP/1.1",
            ],
            "\(bed.diagnostics)")
    }

    /// Bad bytes after a valid pipelined request: the valid one is answered first, then the 400, then the
    /// connection closes.
    @Test func parseFailureIsAnsweredAfterTheRequestsBeforeIt() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let (received, closed) = try exchange(
            "POST /echo/valid HTTP/1.1\r\nHost: backend:\(port)\r\nContent-Length: 5\r\n\r\nhello"
                + "GET /echo/bad HTTP/1.1\r\nHost: backend:\(port)\r\nX-Bad: a\u{01}b\r\n\r\n", port: sidecar.httpPort)
        let answers = bodies(received)
        #expect(answers.first == "/echo/valid HTTP/1.1\n", "\(received)")
        #expect(answers.count == 2 && answers[1].contains("bad_request"), "\(received)")
        #expect(received.components(separatedBy: "HTTP/1.1 400 Bad Request\r\n").count == 2, "\(received)")
        #expect(closed)
        #expect(bed.nginx.waitForAccessLog(count: 1).map(\.request) == ["POST /echo/valid HTTP/1.1"])
    }

    /// A pipelined request that waits for 100 Continue is sent to the backend as soon as its turn comes
    /// (not held until the client sends more, which it will not), and an HTTP/1.0 client gets no interim
    /// answer at all (RFC 9110 15.2).
    @Test func expectContinueWorksPipelinedAndIsNotSentToHTTP10Clients() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let script = #"""
            import re, socket, sys, time
            port, authority, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall((f"GET /echo/first HTTP/1.1\r\nHost: {authority}\r\n\r\n"
                           f"PUT /files/expect-{version[-1]}.txt {version}\r\nHost: {authority}\r\nExpect: 100-continue\r\n"
                           "Content-Length: 5\r\n\r\n").encode())
                data, deadline = b"", time.time() + 3
                s.settimeout(0.2)
                while b"100 Continue" not in data and time.time() < deadline:
                    try:
                        data += s.recv(65536)
                    except socket.timeout:
                        pass
                interim = b"100 Continue" in data
                s.settimeout(10)
                s.sendall(b"hello")
                # nginx answers the PUT with an empty 201: its head's end is the end of the exchange.
                while b"\r\n\r\n" not in data.split(b"201 Created")[-1] if b"201 Created" in data else True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                statuses = [line.decode() for line in re.findall(rb"HTTP/1\.[01] [0-9]{3} [A-Za-z ]+(?=\r\n)", data)]
                print(" | ".join(statuses))
            """#
        for (version, expected) in [
            ("HTTP/1.1", "HTTP/1.1 200 OK | HTTP/1.1 100 Continue | HTTP/1.1 201 Created"),
            ("HTTP/1.0", "HTTP/1.1 200 OK | HTTP/1.0 201 Created"),
        ] {
            let output = try ProcessRunner.run(
                "python3", ["-c", script, String(sidecar.httpPort), "backend:\(port)", version])
            #expect(
                output.standardOutput == expected + "\n", "\(version): \(output.standardOutput) \(output.standardError)"
            )
        }
    }

    /// HTTP mode relays requests, not tunnels: CONNECT is refused with a reason (in the header: a response to
    /// CONNECT has no body) and the connection closed, and the backend never sees it.
    @Test func connectIsRefusedWithoutReachingTheBackend() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let (received, closed) = try exchange(
            "CONNECT backend:\(port) HTTP/1.1\r\nHost: backend:\(port)\r\n\r\n", port: sidecar.httpPort)
        #expect(received.hasPrefix("HTTP/1.1 501 Not Implemented\r\n"), "\(received)")
        #expect(
            received.contains("x-backendtls-error: connect_method: CONNECT tunnels are not opened"), "\(received)")
        #expect(closed, "a refused CONNECT has no length, so the connection must close")
        expectNoRequestArrived(at: bed)
    }

    /// Without `Connection: close` an HTTP/1.1 connection stays open for the next request.
    @Test func keepAliveConnectionServesSequentialRequests() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startTrustedBackend()
        let answers = try sequentially(
            ["/echo/first", "/echo/second"].map { "GET \($0) HTTP/1.1\r\nHost: backend:\(port)\r\n\r\n" },
            port: sidecar.httpPort)
        #expect(
            answers == ["HTTP/1.1 200 OK | - | /echo/first HTTP/1.1", "HTTP/1.1 200 OK | - | /echo/second HTTP/1.1"],
            "\(answers)\n\(bed.diagnostics)")
    }

    /// A keep-alive connection that outlives a configuration change: its next request is decided under the
    /// new configuration (here a CA bundle the backend's certificate does not chain to), not by what the
    /// connection resolved before.
    @Test func keepAliveConnectionFollowsAReload() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startPolicedBackend(presenting: pki.leaf, trusting: pki.root.certificatePEM)
        let replacement = bed.directory.appendingPathComponent("all.yaml")
        try [
            Manifest.service("backend", ports: [("https", port)]),
            Manifest.caConfigMap("backend-ca", pem: pki.newRoot.certificatePEM),
            Manifest.policy("backend", service: "backend"),
        ].joined(separator: "---\n").write(to: replacement, atomically: true, encoding: .utf8)
        let reloadsBefore = try sidecar.metric("backendtls_sidecar_config_reloads_total", ["result": "success"])
        // One request, then the bundle is swapped (by rename, as the sidecar expects) and, once the sidecar
        // has loaded it, a second request on the same connection.
        let script = #"""
            import os, socket, sys, time, urllib.request
            port, authority, replacement, target, metrics, before = sys.argv[1:7]
            def reloads():
                text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics").read().decode()
                return sum(float(l.split()[-1]) for l in text.splitlines()
                           if l.startswith("backendtls_sidecar_config_reloads_total") and 'result="success"' in l)
            def answer(s, path):
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    data += s.recv(65536)
                head, body = data.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                length = int([l.split(":")[1] for l in lines if l.lower().startswith("content-length")][0])
                while len(body) < length:
                    body += s.recv(65536)
                error = [l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("x-backendtls-error")]
                print(lines[0].split()[1], error[0] if error else "-")
            with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:
                answer(s, "/echo/before")
                os.rename(replacement, target)
                deadline = time.time() + 5
                while reloads() <= float(before) and time.time() < deadline:
                    time.sleep(0.05)
                answer(s, "/echo/after")
            """#
        let output = try ProcessRunner.run(
            "python3",
            [
                "-c", script, String(sidecar.httpPort), "backend:\(port)", replacement.path,
                bed.configDirectory.appendingPathComponent("all.yaml").path, String(sidecar.metricsPort),
                String(reloadsBefore),
            ])
        let answers = output.standardOutput.split(separator: "\n").map(String.init)
        #expect(answers.count == 2, "\(output.standardOutput) \(output.standardError)\n\(bed.diagnostics)")
        #expect(answers.first == "200 -", "\(answers)")
        #expect(
            answers.last?.hasPrefix("502 policy default/backend: unknown_issuer:") == true,
            "\(answers)\n\(bed.diagnostics)")
        #expect(
            bed.nginx.waitForAccessLog(count: 1).map(\.request) == ["GET /echo/before HTTP/1.1"], "\(bed.diagnostics)")
    }
}
