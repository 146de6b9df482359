import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension WebhookEndToEndTests {
    /// Slow, idle and surplus clients, client certificates, HTTP/2 and shutdown.
    @Suite struct Connections {
        static func dryRunReview() throws -> Data {
            try AdmissionFixture.data(
                AdmissionFixture.policyReview(AdmissionFixture.policy("p", service: "api"), dryRun: true))
        }

        @Test func aClientTricklingHeadersIsCutOffWhileOthersAreServed() throws {
            let webhook = try WebhookProcess.start(["--read-timeout", "1", "--idle-timeout", "5"])
            defer { webhook.stop() }
            let slow = try RawTLSClient(port: webhook.port, caFile: webhook.caFile)
            defer { slow.close() }
            let head = "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            var sent = 0
            var servedMeanwhile: CurlResult?
            // One byte every 200 ms: the request head would take over 14 s to arrive.
            for byte in head.utf8 {
                guard slow.send([byte]) else { break }
                sent += 1
                if sent == 3 { servedMeanwhile = try webhook.post("/validate", try Self.dryRunReview()) }
                if !slow.isRunning || Date().timeIntervalSince(slow.started) > 4 { break }
                usleep(200_000)
            }
            #expect(
                servedMeanwhile?.status == 200,
                "a normal client is served meanwhile: \(servedMeanwhile.map { "\($0)" } ?? "-")")
            #expect(slow.waitForExit(timeout: 3), "the trickling client must be cut off")
            let elapsed = Date().timeIntervalSince(slow.started)
            #expect(elapsed < 3.5, "cut off after --read-timeout 1, not \(elapsed) s")
            #expect(sent < head.utf8.count)
            #expect(slow.output.isEmpty || slow.status == 408, "408 or a bare close: \(slow.output.debugDescription)")
            #expect(try webhook.post("/validate", try Self.dryRunReview()).status == 200)
        }

        @Test func idleKeepAliveConnectionsAreClosed() throws {
            let webhook = try WebhookProcess.start(["--idle-timeout", "1", "--read-timeout", "5"])
            defer { webhook.stop() }
            // A connection that never sends anything.
            let silent = try RawTLSClient(port: webhook.port, caFile: webhook.caFile)
            defer { silent.close() }
            // A keep-alive connection after one complete request.
            let review = try Self.dryRunReview()
            let kept = try RawTLSClient(port: webhook.port, caFile: webhook.caFile)
            defer { kept.close() }
            kept.send(BadInput.post(["Content-Type: application/json", "Content-Length: \(review.count)"]))
            kept.send(Array(review))
            #expect(kept.waitForOutput(containing: "\"allowed\":true"), "\(kept.output.debugDescription)")
            let answered = Date()
            #expect(kept.status == 200)
            #expect(!kept.output.lowercased().contains("connection: close"), "keep-alive was offered")
            #expect(kept.waitForExit(timeout: 3), "an idle keep-alive connection must be closed after --idle-timeout 1")
            let idle = Date().timeIntervalSince(answered)
            #expect(idle >= 0.8 && idle < 3, "closed after \(idle) s idle")
            #expect(silent.waitForExit(timeout: 1), "a connection that never sent a byte is closed too")
            #expect(Date().timeIntervalSince(silent.started) < 3.5)

            // An HTTP/2 connection with no streams is idle too.
            let h2 = try RawTLSClient(port: webhook.port, caFile: webhook.caFile, alpn: "h2")
            defer { h2.close() }
            #expect(h2.waitForExit(timeout: 3), "an idle HTTP/2 connection must be closed")
        }

        @Test func connectionsBeyondTheLimitAreClosed() throws {
            let webhook = try WebhookProcess.start(["--max-connections", "2"])
            defer { webhook.stop() }
            let review = try Self.dryRunReview()
            var holders: [RawTLSClient] = []
            defer { holders.forEach { $0.close() } }
            for _ in 0..<2 {
                let holder = try RawTLSClient(port: webhook.port, caFile: webhook.caFile)
                holders.append(holder)
                // Prove each is a live, served connection (keep-alive), then keep it open.
                holder.send(BadInput.post(["Content-Length: \(review.count)"]))
                holder.send(Array(review))
                #expect(holder.waitForOutput(containing: "\"allowed\":true"), "\(holder.output.debugDescription)")
            }
            let third = try webhook.post("/validate", review)
            #expect(third.status == nil, "a third concurrent connection must be closed: \(third)")
            #expect([35, 52, 56].contains(third.exitCode), "closed on accept: \(third)")
            #expect(holders.allSatisfy { $0.isRunning }, "the two admitted connections stay open")
            #expect(webhook.log.contains("connection limit reached"))

            // One slot frees up: a new connection is served again.
            holders[0].close()
            #expect(eventually(timeout: 5) { (try? webhook.post("/validate", review))?.status == 200 })
        }

        @Test func clientCertificatesAreRequiredWhenAClientCAIsGiven() throws {
            // A dev PKI from the webhook itself, then served from files with client verification.
            let generator = try WebhookProcess.start()
            let dev = generator.directory.appendingPathComponent("dev-pki")
            try FileManager.default.copyItem(at: generator.pki, to: dev)
            _ = generator.terminate(timeout: 5)
            defer { generator.stop() }
            let other = try OpenSSLPKI.generate(
                in: generator.directory.appendingPathComponent("other"), name: "Other CA")
            let path = { (name: String) in dev.appendingPathComponent(name).path }

            let webhook = try WebhookProcess.start(
                [
                    "--tls-cert-file", path("tls.crt"), "--tls-key-file", path("tls.key"), "--client-ca-file",
                    path("ca.crt"),
                ], caFile: path("ca.crt"))
            defer { webhook.stop() }
            let body = generator.directory.appendingPathComponent("review.json")
            try Self.dryRunReview().write(to: body)
            func post(_ http: String, _ credentials: [String]) throws -> CurlResult {
                try webhook.curl(
                    [http, "--data-binary", "@\(body.path)", "-H", "Content-Type: application/json"] + credentials
                        + [webhook.url("/validate")])
            }
            for http in ["--http1.1", "--http2"] {
                let accepted = try post(http, ["--cert", path("client.crt"), "--key", path("client.key")])
                #expect(accepted.status == 200, "\(http) with the dev client certificate: \(accepted)")
                #expect(accepted.admission?.allowed == true)

                let anonymous = try post(http, [])
                #expect(anonymous.status == nil, "\(http) without a client certificate: \(anonymous)")
                #expect(anonymous.exitCode != 0)

                let stranger = try post(http, ["--cert", other.clientCertificate, "--key", other.clientKey])
                #expect(stranger.status == nil, "\(http) with another CA's client certificate: \(stranger)")
                #expect(stranger.exitCode != 0)
            }
            // The same checks below curl: openssl sees the handshake refused.
            let refused = try RawTLSClient(port: webhook.port, caFile: path("ca.crt"))
            defer { refused.close() }
            refused.send(BadInput.post(["Content-Length: 2"], body: "{}"))
            #expect(refused.waitForExit(timeout: 5))
            #expect(refused.output.isEmpty, "no HTTP answer without a client certificate: \(refused.output)")
            #expect(try webhook.probe("/healthz").status == 200, "probes stay plain HTTP without client certificates")
        }

        @Test func sigtermLetsRequestsInFlightFinish() throws {
            let webhook = try WebhookProcess.start(["--shutdown-grace-period", "5"])
            defer { webhook.stop() }
            // A 40 KB review uploaded at 20 KB/s: each request is in flight for about 2 s.
            let review = AdmissionFixture.padded(
                AdmissionFixture.policyReview(AdmissionFixture.policy("slow", service: "api"), dryRun: true),
                to: 40_000)
            let body = webhook.directory.appendingPathComponent("slow.json")
            try AdmissionFixture.data(review).write(to: body)
            let clients = (0..<20).map { index in
                BackgroundCurl([
                    "--cacert", webhook.caFile, index.isMultiple(of: 2) ? "--http1.1" : "--http2", "--limit-rate",
                    "20k",
                    "-H", "Content-Type: application/json", "--data-binary", "@\(body.path)", webhook.url("/validate"),
                ])
            }
            usleep(700_000)
            let signalled = Date()
            let status = webhook.terminate(timeout: 8)
            let exitedAfter = Date().timeIntervalSince(signalled)
            let results = clients.map { $0.wait() }
            for (index, result) in results.enumerated() {
                #expect(result.status == 200, "request \(index) in flight at SIGTERM: \(result)")
                #expect(result.admission?.allowed == true, "request \(index): \(result)")
            }
            #expect(status != nil, "the webhook must exit within the grace period")
            #expect(exitedAfter < 6.5, "exited \(exitedAfter) s after SIGTERM")
            #expect(status == 0, "SIGTERM is a clean shutdown, exit 0:\n\(webhook.log.suffix(1500))")
            #expect(webhook.log.contains("shutting down"))
            // Nothing listens any more.
            #expect(
                try WebhookCurl.run(["--cacert", webhook.caFile, webhook.url("/validate")], timeout: 3).exitCode == 7)
        }

        /// After SIGTERM the webhook goes on answering for `--shutdown-delay`, while the API servers drop the pod
        /// from the endpoints (a closed listener would fail their requests meanwhile); `/readyz` says it is going.
        @Test func shutdownDelayKeepsServingAfterSIGTERM() throws {
            let webhook = try WebhookProcess.start(["--shutdown-delay", "2"])
            defer { webhook.stop() }
            let signalled = Date()
            #expect(webhook.terminate(timeout: 0) == nil, "exited at once despite --shutdown-delay")
            usleep(300_000)
            let ready = try webhook.probe("/readyz")
            #expect(ready.status == 503 && ready.text.contains("shutting down"), "\(ready)")
            let review = AdmissionFixture.policyReview(AdmissionFixture.policy("late", service: "api"), dryRun: true)
            for http in ["--http1.1", "--http2"] {
                let answer = try webhook.review("/validate", review, http: http)
                #expect(answer.allowed == true, "a request on a new connection during the delay: \(answer)")
            }
            #expect(Date().timeIntervalSince(signalled) < 2, "the checks above must fall within the delay")
            let status = webhook.terminate(timeout: 8)
            let exitedAfter = Date().timeIntervalSince(signalled)
            #expect(status == 0, "\(webhook.log.suffix(1500))")
            #expect(exitedAfter >= 2 && exitedAfter < 5, "exited \(exitedAfter) s after SIGTERM")
            #expect(webhook.log.contains("still serving while the endpoints drop this pod"))
        }

        /// An HTTP/2 client trickling one frame is cut off after `--read-timeout`, as an HTTP/1.1 one trickling its
        /// head is: streams time their requests only once their headers are decoded, and every byte resets the idle
        /// timer, so a few such clients would otherwise hold every connection the webhook takes.
        @Test func http2ClientTricklingAFrameIsCutOff() throws {
            let webhook = try WebhookProcess.start(["--read-timeout", "1", "--idle-timeout", "30"])
            defer { webhook.stop() }
            let script = #"""
                import select, socket, ssl, sys, time
                context = ssl.create_default_context(cafile=sys.argv[2])
                context.set_alpn_protocols(["h2"])
                with context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost") as s:
                    assert s.selected_alpn_protocol() == "h2"
                    # The preface, empty SETTINGS, then a HEADERS frame announcing 100 bytes, sent one byte at a time.
                    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + b"\x00\x00\x64\x01\x04\x00\x00\x00\x01")
                    start = time.time()
                    while time.time() - start < 8:
                        readable, _, _ = select.select([s], [], [], 0.3)
                        try:
                            if readable and not s.recv(65536):
                                print("closed after", round(time.time() - start, 1))
                                break
                            s.sendall(b"\x00")
                        except (ConnectionError, ssl.SSLError):
                            print("closed after", round(time.time() - start, 1))
                            break
                    else:
                        print("still open")
                """#
            let output = try ProcessRunner.run("python3", ["-c", script, String(webhook.port), webhook.caFile])
            let seconds = output.standardOutput.split(separator: " ").last.flatMap {
                Double($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(output.standardOutput.hasPrefix("closed after"), "\(output)")
            #expect((seconds ?? 99) >= 0.9 && (seconds ?? 99) < 3, "\(output)")
            let after = AdmissionFixture.policyReview(AdmissionFixture.policy("after", service: "api"), dryRun: true)
            #expect(try webhook.review("/validate", after, http: "--http2").allowed == true)
        }

        @Test func disableHTTP2FallsBackToHTTP1() throws {
            let webhook = try WebhookProcess.start(["--disable-http2"])
            defer { webhook.stop() }
            let review = try Self.dryRunReview()
            let answer = try webhook.post("/validate", review, http: "--http2")
            #expect(answer.status == 200, "\(answer)")
            #expect(answer.httpVersion == "1.1", "curl --http2 must fall back to HTTP/1.1: \(answer)")
            #expect(try webhook.post("/validate", review, http: "--http1.1").httpVersion == "1.1")
        }

        @Test func http2MultiplexesManyStreamsOnOneConnection() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let body = webhook.directory.appendingPathComponent("review.json")
            try Self.dryRunReview().write(to: body)
            let streams = 24
            var arguments = [
                "-sS", "--cacert", webhook.caFile, "--http2", "--parallel", "--parallel-max", "24",
                "-H", "Content-Type: application/json", "--data-binary", "@\(body.path)",
                "-w", "%{http_code} %{http_version} %{num_connects}\n",
            ]
            for index in 0..<streams {
                arguments += ["-o", "/dev/null", webhook.url(index.isMultiple(of: 2) ? "/validate" : "/mutate")]
            }
            let run = try CurlProcess.run(arguments)
            let lines = String(decoding: run.standardOutput, as: UTF8.self).split(separator: "\n")
            #expect(run.exitCode == 0, "\(run.standardError)")
            #expect(lines.count == streams)
            #expect(lines.allSatisfy { $0.hasPrefix("200 2 ") }, "\(lines)")
            let connections = lines.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
            #expect(connections == 1, "all \(streams) streams share one connection: \(lines)")
            #expect(
                try webhook.metrics().value("backendtls_webhook_requests_total", ["kind": "BackendTLSPolicy"])
                    == Double(streams))
        }

        /// Headers under the 32 KiB limit are accepted on HTTP/1.1; HTTP/2 must accept them as well, also on a
        /// connection's first request (before the client has acknowledged the server's SETTINGS).
        @Test func http2AcceptsHeadersUpToTheLimit() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let review = try Self.dryRunReview()
            // HTTP/1.1 takes up to --max-header-bytes (32 KiB); HTTP/2 header lists are capped at 16 KiB
            // (the HPACK default a first request is decoded with).
            for (http, size) in [("--http1.1", 20_000), ("--http2", 15_000)] {
                let header = "X-Padding: \(String(repeating: "p", count: size))"
                let answer = try webhook.post("/validate", review, http: http, ["-H", header], timeout: 5)
                #expect(answer.status == 200, "\(http) with \(size) bytes of headers: \(answer)")
            }
        }

        /// After an HTTP/2 connection error the server sends GOAWAY and must close the connection, not leave the
        /// client waiting for the idle timeout.
        @Test func http2ConnectionErrorsCloseTheConnection() throws {
            let webhook = try WebhookProcess.start(["--idle-timeout", "30"])
            defer { webhook.stop() }
            let requests = [
                "no preface": "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "garbage frame": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nthis is not an HTTP/2 frame at all......",
            ]
            for (name, bytes) in requests.sorted(by: { $0.key < $1.key }) {
                let client = try RawTLSClient(port: webhook.port, caFile: webhook.caFile, alpn: "h2")
                defer { client.close() }
                client.send(bytes)
                #expect(client.waitForExit(timeout: 3), "\(name): connection still open 3 s after the protocol error")
            }
            #expect(try webhook.post("/validate", try Self.dryRunReview(), http: "--http2").status == 200)
        }
    }
}
