import Foundation
import Testing

extension WebhookEndToEndTests {
    /// Malformed requests, each answered with a clear error, and a webhook that keeps serving afterwards.
    @Suite struct BadInput {
        /// What came back for one malformed request.
        struct Outcome: CustomStringConvertible {
            var status: Int?
            /// The JSON body's `error`, when the body is a JSON error.
            var error: String?
            var detail: String

            init(_ result: CurlResult) {
                status = result.status
                error = result.errorMessage
                detail = result.description
            }

            init(_ client: RawTLSClient) {
                status = client.status
                error = client.errorMessage
                detail =
                    "raw answer: \(client.output.prefix(400).debugDescription) s_client: \(client.errors.suffix(300))"
            }

            var description: String { detail }
        }

        struct Case: CustomStringConvertible {
            var name: String
            var status: Int
            /// Text the JSON body's `error` must contain; `nil` for HTTP framing errors answered below our handler.
            var error: String?
            var send: (WebhookProcess) throws -> Outcome

            var description: String { name }
        }

        /// A valid v1 CREATE of a policy, as a dictionary to break in one place.
        static func validReview() -> [String: Any] {
            AdmissionFixture.policyReview(AdmissionFixture.policy("p", service: "api"), uid: "bad-input")
        }

        /// The valid review with one envelope member changed.
        static func changed(_ change: (inout [String: Any]) -> Void) -> Data {
            var review = validReview()
            change(&review)
            return (try? AdmissionFixture.data(review)) ?? Data()
        }

        /// The valid review with one request member changed.
        static func changedRequest(_ change: (inout [String: Any]) -> Void) -> Data {
            changed { review in
                var request = review["request"] as? [String: Any] ?? [:]
                change(&request)
                review["request"] = request
            }
        }

        static func post(
            _ name: String, _ status: Int, _ error: String?, path: String = "/validate", http: String = "--http1.1",
            _ body: Data, _ extra: [String] = []
        ) -> Case {
            Case(name: name, status: status, error: error) { webhook in
                Outcome(try webhook.post(path, body, http: http, extra))
            }
        }

        static func post(
            _ name: String, _ status: Int, _ error: String?, path: String = "/validate", http: String = "--http1.1",
            _ body: String, _ extra: [String] = []
        ) -> Case {
            post(name, status, error, path: path, http: http, Data(body.utf8), extra)
        }

        static func curl(
            _ name: String, _ status: Int, _ error: String?, _ arguments: @escaping (WebhookProcess) -> [String]
        ) -> Case {
            Case(name: name, status: status, error: error) { webhook in Outcome(try webhook.curl(arguments(webhook))) }
        }

        /// Raw bytes over TLS (HTTP/1.x forced by ALPN); the server must answer and close the connection.
        static func raw(_ name: String, _ status: Int, _ error: String?, _ request: String) -> Case {
            Case(name: name, status: status, error: error) { webhook in
                let client = try RawTLSClient(port: webhook.port, caFile: webhook.caFile)
                defer { client.close() }
                client.send(request)
                let closed = client.waitForExit(timeout: 5)
                var outcome = Outcome(client)
                if !closed { outcome.detail += " (connection still open after 5 s)"; outcome.status = nil }
                return outcome
            }
        }

        /// A hand-written `POST /validate HTTP/1.1` with these header lines (after Host) and body.
        static func post(_ headers: [String], body: String = "") -> String {
            (["POST /validate HTTP/1.1", "Host: localhost"] + headers).joined(separator: "\r\n") + "\r\n\r\n" + body
        }

        static let bigHeader40K = String(repeating: "h", count: 40_000)
        static let bigHeader70K = String(repeating: "h", count: 70_000)

        /// Bad requests against a webhook with the default limits.
        static var matrix: [Case] {
            let valid = (try? AdmissionFixture.data(validReview())) ?? Data()
            return [
                // Not an AdmissionReview at all.
                post("not JSON", 400, "request body is not valid JSON", "hello"),
                post("empty body", 400, "unexpected end of input", ""),
                post("truncated review", 400, "unexpected end of input", valid.prefix(valid.count / 2)),
                post("JSON array", 400, "must be a JSON object (an AdmissionReview), got array", "[1,2]"),
                post("JSON string", 400, "must be a JSON object", #""AdmissionReview""#),
                post("JSON null", 400, "must be a JSON object", "null"),
                post("JSON number", 400, "must be a JSON object", "42"),
                post("trailing garbage", 400, "not valid JSON", valid + Data("}".utf8)),
                post("two documents", 400, "not valid JSON", valid + valid),
                post("invalid UTF-8 outside strings", 400, "not valid JSON", Data([0xFF, 0xFE]) + valid),
                post("UTF-16 body", 400, "not valid JSON", String(decoding: valid, as: UTF8.self).data(using: .utf16)!),
                post(
                    "deeply nested", 400, "nested deeper than",
                    String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)),
                post(
                    "NUL byte", 400, "unexpected character 0x0",
                    Data(#"{"apiVersion":"admission.k8s.io/v1","#.utf8) + Data([0])
                        + Data(#""kind":"AdmissionReview"}"#.utf8)),
                post("single quotes", 400, "not valid JSON", "{'apiVersion': 'admission.k8s.io/v1'}"),
                // The envelope.
                post(
                    "wrong apiVersion", 400, #"apiVersion "admission.k8s.io/v2" is not supported"#,
                    changed { review in review["apiVersion"] = "admission.k8s.io/v2" }),
                post(
                    "missing apiVersion", 400, "apiVersion (missing) is not supported",
                    changed { review in review["apiVersion"] = nil }),
                post(
                    "wrong kind", 400, #"kind "AdmissionResponse" is not AdmissionReview"#,
                    changed { review in review["kind"] = "AdmissionResponse" }),
                post(
                    "no request", 400, "AdmissionReview has no request", changed { review in review["request"] = nil }),
                post(
                    "request null", 400, "AdmissionReview has no request",
                    changed { review in review["request"] = NSNull() }),
                post(
                    "request a string", 400, "request: expected an object",
                    #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"x"}"#),
                // The request.
                post("no uid", 400, "request.uid: Required value", changedRequest { request in request["uid"] = nil }),
                post(
                    "empty uid", 400, "request.uid: Required value", changedRequest { request in request["uid"] = "" }),
                post(
                    "uid a number", 400, "request.uid: expected a string",
                    changedRequest { request in request["uid"] = 7 }),
                post(
                    "no request.kind", 400, "request.kind: Required value",
                    changedRequest { request in request["kind"] = nil }),
                post(
                    "no operation", 400, "request.operation: Required value",
                    changedRequest { request in request["operation"] = nil }),
                post(
                    "unknown operation", 400, #"request.operation: Unsupported value: "PATCH""#,
                    changedRequest { request in request["operation"] = "PATCH" }),
                post(
                    "object of the wrong kind", 400,
                    #"request.kind is "BackendTLSPolicy" but request.object is a "ConfigMap""#,
                    changedRequest { request in request["object"] = AdmissionFixture.configMap("cm", data: [:]) }),
                post(
                    "oldObject of the wrong kind", 400, #"but request.object is a "Secret""#,
                    changedRequest { request in request["oldObject"] = AdmissionFixture.secret("s", data: [:]) }),
                post(
                    "object an array", 400, "request.object: expected an object, got array",
                    changedRequest { request in request["object"] = [1] }),
                post(
                    "CREATE without object", 400, "request.object: Required value",
                    changedRequest { request in request["object"] = NSNull() }),
                post(
                    "dryRun a string", 400, "request.dryRun: expected a boolean",
                    changedRequest { request in request["dryRun"] = "yes" }),
                post("mutate: not JSON", 400, "not valid JSON", path: "/mutate", "{"),
                post("HTTP/2: not JSON", 400, "not valid JSON", http: "--http2", "hello"),
                post(
                    "HTTP/2: no uid", 400, "request.uid: Required value", http: "--http2",
                    changedRequest { request in request["uid"] = nil }),
                post("chunked: not JSON", 400, "not valid JSON", "hello", ["-H", "Transfer-Encoding: chunked"]),
                post("HTTP/1.0: not JSON", 400, "not valid JSON", http: "--http1.0", "hello"),
                // Routing.
                curl("GET /validate", 405, "GET is not allowed on /validate") { ["--http1.1", $0.url("/validate")] },
                curl("PUT /mutate", 405, "PUT is not allowed on /mutate") {
                    ["--http1.1", "-X", "PUT", "--data", "{}", $0.url("/mutate")]
                },
                curl("HTTP/2: DELETE /validate", 405, "DELETE is not allowed") {
                    ["--http2", "-X", "DELETE", $0.url("/validate")]
                },
                curl("unknown path", 404, #"no such endpoint "/admit""#) {
                    ["--http1.1", "--data", "{}", $0.url("/admit")]
                },
                curl("root path", 404, "no such endpoint") { ["--http1.1", "--data", "{}", $0.url("/")] },
                curl("HTTP/2: unknown path", 404, "no such endpoint") {
                    ["--http2", "--data", "{}", $0.url("/healthz")]
                },
                // Limits.
                curl("headers over 32 KiB", 431, "the limit is 32768") {
                    ["--http1.1", "-H", "X-Big: \(bigHeader40K)", "--data", "{}", $0.url("/validate")]
                },
                curl("headers far over 32 KiB", 431, "431") {
                    ["--http1.1", "-H", "X-Big: \(bigHeader70K)", "--data", "{}", $0.url("/validate")]
                },
                Case(name: "8 MiB body", status: 413, error: "request body is 8388608 bytes; the limit is 7340032") {
                    webhook in
                    Outcome(try webhook.post("/validate", Data(repeating: 0x20, count: 8 << 20)))
                },
                Case(name: "8 MiB chunked body", status: 413, error: "exceeds the limit of 7340032 bytes") { webhook in
                    Outcome(
                        try webhook.post(
                            "/validate", Data(repeating: 0x20, count: 8 << 20), ["-H", "Transfer-Encoding: chunked"]))
                },
                Case(name: "HTTP/2: 8 MiB body", status: 413, error: "the limit is 7340032") { webhook in
                    Outcome(try webhook.post("/validate", Data(repeating: 0x20, count: 8 << 20), http: "--http2"))
                },
                // HTTP framing, written by hand.
                raw(
                    "content-length shorter than the body", 400, "not valid JSON",
                    post(["Content-Length: 5", "Connection: close"], body: "hello world")),
                raw(
                    "HTTP/1.0 without keep-alive", 400, "must be a JSON object",
                    "POST /validate HTTP/1.0\r\nContent-Length: 2\r\n\r\n[]"),
                raw("non-numeric content-length", 400, nil, post(["Content-Length: abc"], body: "hello")),
                raw(
                    "two different content-lengths", 400, nil,
                    post(["Content-Length: 5", "Content-Length: 6"], body: "hello!")),
                raw("negative content-length", 400, nil, post(["Content-Length: -1"])),
                raw(
                    "content-length and chunked", 400, nil,
                    post(["Content-Length: 5", "Transfer-Encoding: chunked"], body: "5\r\nhello\r\n0\r\n\r\n")),
                raw("bad chunk size", 400, nil, post(["Transfer-Encoding: chunked"], body: "ZZ\r\nhello\r\n0\r\n\r\n")),
                raw("garbage request line", 400, nil, "GARBAGE\r\n\r\n"),
                raw("header line without a colon", 400, nil, post(["no colon here"])),
            ]
        }

        @Test func malformedRequestsGetClearErrorsAndTheServerKeepsServing() throws {
            let cases = Self.matrix
            #expect(cases.count >= 30)
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            for testCase in cases {
                let outcome = try testCase.send(webhook)
                #expect(outcome.status == testCase.status, "\(testCase.name): \(outcome)")
                if let error = testCase.error {
                    #expect(
                        outcome.error?.contains(error) == true,
                        "\(testCase.name): error should name \(error.debugDescription): \(outcome)")
                }
                #expect(webhook.isRunning, "\(testCase.name) took the server down:\n\(webhook.log.suffix(2000))")
            }
            try expectStillServing(webhook)
            let metrics = try webhook.metrics()
            let ours = cases.filter { $0.error != nil }
            for code in [400, 404, 405, 413, 431] {
                let expected = ours.filter { $0.status == code }.count
                #expect(
                    metrics.value("backendtls_webhook_http_errors_total", ["code": String(code)]) >= Double(expected),
                    "http_errors_total{code=\"\(code)\"}")
            }
        }

        /// A large request written whole, head and body in one write (as an API server's client may send it), and
        /// pipelined requests in one write: TLS hands the server all a socket read decrypted at once, and none of it
        /// but the head counts against the header limit.
        @Test func requestsWrittenWholeAreAnswered() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let review = AdmissionFixture.padded(Self.validReview(), to: 1_000_000)
            let large = webhook.directory.appendingPathComponent("large.json")
            try AdmissionFixture.data(review).write(to: large)
            let small = webhook.directory.appendingPathComponent("small.json")
            try AdmissionFixture.data(Self.validReview()).write(to: small)
            let client = #"""
                import re, socket, ssl, sys
                port, ca, large, small = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "rb").read(), open(sys.argv[4], "rb").read()
                def post(body, close=False):
                    extra = b"Connection: close\r\n" if close else b""
                    return b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n" % (extra, len(body)) + body
                context = ssl.create_default_context(cafile=ca)
                for wire in (post(large, close=True), post(small) * 49 + post(small, close=True)):
                    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost") as s:
                        s.sendall(wire)
                        data = b""
                        while chunk := s.recv(65536):
                            data += chunk
                        # Answers follow one another directly: a status line starts after the last body's byte.
                        print(" ".join(code.decode() for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)))
                """#
            let output = try ProcessRunner.run(
                "python3", ["-c", client, String(webhook.port), webhook.caFile, large.path, small.path])
            let lines = output.standardOutput.split(separator: "\n").map(String.init)
            #expect(lines.first == "200", "one write of a 1 MB review: \(output)")
            #expect(lines.last == Array(repeating: "200", count: 50).joined(separator: " "), "\(output)")
            try expectStillServing(webhook)
        }

        /// A client that asks to be told before it sends its body (curl does for large ones) is told at once; without
        /// it, it would wait and then be cut off by the read timeout.
        @Test func expectContinueIsAnsweredAtOnce() throws {
            let webhook = try WebhookProcess.start(["--read-timeout", "3"])
            defer { webhook.stop() }
            let started = Date()
            let result = try webhook.post(
                "/validate", AdmissionFixture.data(Self.validReview()),
                ["-H", "Expect: 100-continue", "--expect100-timeout", "30"])
            #expect(result.status == 200, "\(result)")
            #expect(Date().timeIntervalSince(started) < 2, "the body waited for a 100 Continue that never came")
        }

        /// The body limit, at and just past `--max-body-bytes`, and a body that never finishes arriving.
        @Test func bodyLimitAndReadTimeout() throws {
            let limit = 4096
            let webhook = try WebhookProcess.start(["--max-body-bytes", String(limit), "--read-timeout", "1"])
            defer { webhook.stop() }
            var atLimit = try AdmissionFixture.data(Self.validReview())
            atLimit.append(Data(repeating: 0x20, count: limit - atLimit.count))
            for http in ["--http1.1", "--http2"] {
                let accepted = try webhook.post("/validate", atLimit, http: http)
                #expect(accepted.status == 200, "\(http): exactly \(limit) bytes: \(accepted)")
                #expect(accepted.admission?.uid == "bad-input")
                let over = try webhook.post("/validate", atLimit + Data(" ".utf8), http: http)
                #expect(over.status == 413, "\(http): \(over)")
                #expect(over.errorMessage == "request body is \(limit + 1) bytes; the limit is \(limit)", "\(over)")
            }
            let chunked = try webhook.post(
                "/validate", Data(repeating: 0x20, count: 3 * limit), ["-H", "Transfer-Encoding: chunked"])
            #expect(chunked.status == 413, "\(chunked)")
            #expect(chunked.errorMessage == "request body exceeds the limit of \(limit) bytes", "\(chunked)")

            // Content-Length promises 50 bytes, 5 arrive: 408 once the read timeout passes, then closed.
            let stalled = try RawTLSClient(port: webhook.port, caFile: webhook.caFile)
            defer { stalled.close() }
            stalled.send(Self.post(["Content-Length: 50"], body: "hello"))
            #expect(stalled.waitForExit(timeout: 4), "a stalled body must be cut off after --read-timeout 1")
            #expect(stalled.status == 408, "\(stalled.output.debugDescription)")
            #expect(stalled.errorMessage?.contains("408") == true, "\(stalled.output.debugDescription)")
            #expect(Date().timeIntervalSince(stalled.started) >= 0.9)
            let metrics = try webhook.metrics()
            #expect(metrics.value("backendtls_webhook_http_errors_total", ["code": "408"]) == 1)
            #expect(metrics.value("backendtls_webhook_http_errors_total", ["code": "413"]) == 3)
            try expectStillServing(webhook)
        }

        /// HTTP-level malformed input is malformed input too: the spec promises a JSON error body naming the
        /// problem, but these are answered by NIO's protocol error handler with an empty 400.
        @Test func framingErrorsGetAJSONErrorBody() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            for testCase in Self.matrix where testCase.error == nil {
                let outcome = try testCase.send(webhook)
                #expect(outcome.status == 400, "\(testCase.name): \(outcome)")
                #expect(outcome.error?.isEmpty == false, "\(testCase.name): no JSON error body: \(outcome)")
            }
        }

        /// HTTP/2 requests whose framing lies (content-length disagreeing with DATA) are reset; others go on.
        @Test func http2ProtocolErrorsResetOnlyThatStream() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let valid = try AdmissionFixture.data(Self.validReview())
            let lying = try webhook.post("/validate", valid, http: "--http2", ["-H", "Content-Length: 5"])
            #expect(lying.status == nil || lying.status == 400, "\(lying)")
            try expectStillServing(webhook)
        }

        private func expectStillServing(_ webhook: WebhookProcess, sourceLocation: SourceLocation = #_sourceLocation)
            throws
        {
            let review = AdmissionFixture.policyReview(
                AdmissionFixture.policy("after", service: "after-\(UUID().uuidString.prefix(8).lowercased())"),
                dryRun: true)
            for http in ["--http1.1", "--http2", "--http1.0"] {
                let answer = try webhook.review("/validate", review, http: http, sourceLocation: sourceLocation)
                #expect(answer.allowed == true, "\(http): \(answer)", sourceLocation: sourceLocation)
            }
            let chunked = try webhook.post(
                "/validate", try AdmissionFixture.data(review), ["-H", "Transfer-Encoding: chunked"])
            #expect(chunked.admission?.allowed == true, "chunked: \(chunked)", sourceLocation: sourceLocation)
            #expect(try webhook.probe("/healthz").status == 200, sourceLocation: sourceLocation)
            #expect(try webhook.probe("/readyz").status == 200, sourceLocation: sourceLocation)
        }
    }
}
