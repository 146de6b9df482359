import Crypto
import Foundation
import Testing

/// The built `backendtls-sidecar` against real nginx TLS backends on loopback, with certificates made by
/// openssl, driven by curl (issue 5, cases a–k, TCP mode, metrics, reload).
///
/// Each nginx TLS server holds a certificate only for the SNI the policy's hostname names: a wrong SNI
/// fails the handshake at nginx (the error log names it) instead of reaching the sidecar's verifier, so
/// every refusal reason asserted below also proves the SNI; successes read it from the access log.
@Suite(.enabled(if: SidecarTools.available, "nginx, openssl or curl is not installed"))
struct SidecarEndToEndTests {
    static let hostname = SidecarPKI.serviceHostname

    // MARK: Expectations

    /// A refusal: `status`, `x-backendtls-error` naming the policy and reason, the same text in the body,
    /// and nothing that reached nginx as a request.
    private func expectRefusal(
        _ response: HTTPResult,
        status: Int = 502,
        reason: String,
        policy: String? = "default/backend",
        mentioning fragments: [String] = [],
        in bed: SidecarTestbed,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, "\(response)\n\(bed.diagnostics)", sourceLocation: sourceLocation)
        let header = response.backendTLSError ?? ""
        #expect(header.contains("\(reason):"), "\(response)", sourceLocation: sourceLocation)
        if let policy {
            #expect(header.hasPrefix("policy \(policy): "), "\(response)", sourceLocation: sourceLocation)
        }
        for fragment in fragments {
            #expect(
                header.localizedCaseInsensitiveContains(fragment), "wanted \(fragment.debugDescription) in \(response)",
                sourceLocation: sourceLocation)
        }
        #expect(
            response.body.contains(header) && !header.isEmpty, "the body repeats the header: \(response)",
            sourceLocation: sourceLocation)
        #expect(
            !bed.nginx.errorLog.contains("no-certificate-for-SNI"), "nginx saw an unexpected SNI\n\(bed.diagnostics)",
            sourceLocation: sourceLocation)
    }

    private func expectOK(
        _ response: HTTPResult, from backend: String, in bed: SidecarTestbed,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == 200, "\(response)\n\(bed.diagnostics)", sourceLocation: sourceLocation)
        #expect(response.body == "\(backend)\n", "\(response)", sourceLocation: sourceLocation)
        #expect(response.backendTLSError == nil, sourceLocation: sourceLocation)
    }

    /// nginx's view of one request: the port it arrived on, the SNI, the request line.
    private func entry(_ port: Int, _ serverName: String, _ request: String = "GET / HTTP/1.1")
        -> NginxBackend.AccessLogEntry
    {
        NginxBackend.AccessLogEntry(port: port, serverName: serverName, request: request)
    }

    /// Waits briefly so a request the sidecar should not have sent would have been logged, then expects none.
    private func expectNoRequestArrived(
        _ bed: SidecarTestbed, before count: Int = 0, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        usleep(300_000)
        #expect(bed.nginx.accessLog.count == count, "\(bed.diagnostics)", sourceLocation: sourceLocation)
    }

    // MARK: (a) (b) trust anchors

    /// Both ways a self-signed server certificate is made; OpenSSL (curl, nginx) and `backendtls lint`
    /// accept either as its own trust anchor, so the sidecar must too.
    @Test(arguments: ["CA:FALSE", "CA:TRUE"])
    func selfSignedServerCertificateIsItsOwnTrustAnchor(_ basicConstraints: String) throws {
        let pki = try SidecarPKI.shared()
        let certificate = basicConstraints == "CA:TRUE" ? pki.selfSignedCA : pki.selfSigned
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([.tls(name: "backend", certificates: [Self.hostname: certificate])])
        let port = bed.nginx.port("backend")
        try bed.write("service.yaml", Manifest.service("backend", ports: [("https", port)]))
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: certificate.certificatePEM))
        try bed.write("policy.yaml", Manifest.policy("backend", service: "backend"))
        let sidecar = try bed.startSidecar()

        expectOK(try sidecar.get("backend:\(port)", path: "/self-signed"), from: "backend", in: bed)
        #expect(
            bed.nginx.waitForAccessLog(count: 1) == [entry(port, Self.hostname, "GET /self-signed HTTP/1.1")],
            "\(bed.diagnostics)")
    }

    @Test func chainThroughAnIntermediateVerifiesAgainstTheRootAlone() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        // nginx sends leaf + intermediate; the bundle holds only the root.
        #expect(pki.leaf.chainPEM == pki.leaf.certificatePEM + pki.intermediate.certificatePEM)
        let (sidecar, port) = try bed.startPolicedBackend(
            presenting: pki.leaf, trusting: pki.root.certificatePEM)

        // Origin form with the short Service name, then absolute form (HTTP_PROXY) with the cluster name.
        expectOK(try sidecar.get("backend:\(port)", path: "/origin"), from: "backend", in: bed)
        expectOK(
            try sidecar.getThroughProxy("http://backend.default.svc.cluster.local:\(port)/absolute"), from: "backend",
            in: bed)
        #expect(
            bed.nginx.waitForAccessLog(count: 2) == [
                entry(port, Self.hostname, "GET /origin HTTP/1.1"),
                entry(port, Self.hostname, "GET /absolute HTTP/1.1"),
            ], "\(bed.diagnostics)")
    }

    /// Regression: after a review fix, a request whose end arrived while the upstream connection was being
    /// set up never counted as ended, so no connection was ever pooled (a handshake per request, 2k req/s).
    @Test func upstreamConnectionsAreReused() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startPolicedBackend(
            presenting: pki.leaf, trusting: pki.root.certificatePEM)
        for index in 0..<6 {
            expectOK(try sidecar.get("backend:\(port)", path: "/\(index)"), from: "backend", in: bed)
        }
        // One pool per event loop (two here): at most one handshake each for six sequential requests.
        let handshakes = try sidecar.metric(
            "backendtls_sidecar_upstream_handshakes_total", ["policy": "default/backend", "result": "success"])
        #expect(handshakes >= 1 && handshakes <= 2, "\(handshakes) handshakes for 6 requests")
    }

    /// nginx closes every connection after one response, so each request is a new upstream connection: all
    /// but the first resume a session (nginx's `$ssl_session_reused`), and the sidecar counts them.
    @Test(arguments: ["TLSv1.2", "TLSv1.3"])
    func upstreamTLSSessionsAreResumed(_ version: String) throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        bed.nginx.keepaliveRequests = 1
        let (sidecar, port) = try bed.startPolicedBackend(
            presenting: pki.leaf, trusting: pki.root.certificatePEM, protocols: version)
        for index in 0..<4 {
            expectOK(try sidecar.get("backend:\(port)", path: "/\(index)"), from: "backend", in: bed)
        }
        _ = bed.nginx.waitForAccessLog(count: 4)
        #expect(
            bed.nginx.sessionLog == ["\(version) ."] + Array(repeating: "\(version) r", count: 3), "\(bed.diagnostics)")
        let resumed = try sidecar.metric(
            "backendtls_sidecar_upstream_sessions_resumed_total", ["policy": "default/backend"])
        #expect(resumed == 3)
        let handshakes = try sidecar.metric(
            "backendtls_sidecar_upstream_handshakes_total", ["policy": "default/backend", "result": "success"])
        #expect(handshakes == 4)
    }

    // MARK: (c) subjectAltNames

    @Test func subjectAltNamesThatMatchAreAcceptedAndTheHostnameIsOnlySNI() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        // The certificate names backend.default.svc and the spiffe ID, never alias.default.svc.
        try bed.nginx.start([
            .tls(name: "backend", certificates: [Self.hostname: pki.leaf, "alias.default.svc": pki.leaf])
        ])
        let port = bed.nginx.port("backend")
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM))
        try bed.write(
            "services.yaml", Manifest.service("by-uri", ports: [("https", port)]),
            Manifest.service("by-dns", ports: [("https", port)]), Manifest.service("alias", ports: [("https", port)]))
        try bed.write(
            "policies.yaml",
            Manifest.policy("by-uri", service: "by-uri", subjectAltNames: [.uri(SidecarPKI.spiffeID)]),
            Manifest.policy("by-dns", service: "by-dns", subjectAltNames: [.hostname(Self.hostname)]),
            // GEP-1897: with subjectAltNames set, the hostname is the SNI only, not an identity to match.
            Manifest.policy(
                "alias", service: "alias", hostname: "alias.default.svc",
                subjectAltNames: [.hostname("other.default.svc"), .uri(SidecarPKI.spiffeID)]))
        let sidecar = try bed.startSidecar()

        expectOK(try sidecar.get("by-uri:\(port)", path: "/uri"), from: "backend", in: bed)
        expectOK(try sidecar.get("by-dns:\(port)", path: "/dns"), from: "backend", in: bed)
        expectOK(try sidecar.get("alias:\(port)", path: "/alias"), from: "backend", in: bed)
        #expect(
            bed.nginx.waitForAccessLog(count: 3) == [
                entry(port, Self.hostname, "GET /uri HTTP/1.1"), entry(port, Self.hostname, "GET /dns HTTP/1.1"),
                entry(port, "alias.default.svc", "GET /alias HTTP/1.1"),
            ], "\(bed.diagnostics)")
    }

    @Test func subjectAltNamesThatDoNotMatchAreRefusedEvenWhenTheHostnameWould() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([.tls(name: "backend", certificates: [Self.hostname: pki.leaf])])
        let port = bed.nginx.port("backend")
        let otherID = "spiffe://cluster.local/ns/default/sa/other"
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM))
        try bed.write(
            "services.yaml", Manifest.service("backend", ports: [("https", port)]),
            Manifest.service("by-dns", ports: [("https", port)]))
        try bed.write(
            "policies.yaml",
            // The hostname is in the certificate, but only the listed SANs are identities.
            Manifest.policy("backend", service: "backend", subjectAltNames: [.uri(otherID)]),
            Manifest.policy("by-dns", service: "by-dns", subjectAltNames: [.hostname("other.default.svc")]))
        let sidecar = try bed.startSidecar()

        expectRefusal(
            try sidecar.get("backend:\(port)"), reason: "san_mismatch",
            mentioning: ["URI:\(otherID)", "URI:\(SidecarPKI.spiffeID)", "DNS:\(Self.hostname)"], in: bed)
        expectRefusal(
            try sidecar.get("by-dns:\(port)"), reason: "san_mismatch", policy: "default/by-dns",
            mentioning: ["DNS:other.default.svc"], in: bed)
        expectNoRequestArrived(bed)
    }

    // MARK: (d) (e) (f) (h) chain and identity failures

    @Test func expiredAndNotYetValidServerCertificatesAreRefused() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([
            .tls(name: "expired", certificates: [Self.hostname: pki.expired]),
            .tls(name: "future", certificates: [Self.hostname: pki.notYetValid]),
        ])
        let expiredPort = bed.nginx.port("expired")
        let futurePort = bed.nginx.port("future")
        try bed.write(
            "all.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM),
            Manifest.service("backend", ports: [("https", expiredPort)]),
            Manifest.service("future", ports: [("https", futurePort)]), Manifest.policy("backend", service: "backend"),
            Manifest.policy("future", service: "future"))
        let sidecar = try bed.startSidecar()

        expectRefusal(try sidecar.get("backend:\(expiredPort)"), reason: "expired", mentioning: ["2021-01-01"], in: bed)
        expectRefusal(
            try sidecar.get("future:\(futurePort)"), reason: "not_yet_valid", policy: "default/future",
            mentioning: ["2040-01-01"], in: bed)
        expectNoRequestArrived(bed)
    }

    @Test func certificateFromAnotherCAIsAnUnknownIssuer() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, port) = try bed.startPolicedBackend(
            presenting: pki.leaf, trusting: pki.otherRoot.certificatePEM)

        expectRefusal(
            try sidecar.get("backend:\(port)"), reason: "unknown_issuer",
            mentioning: [
                "does not verify against CA bundle \(try fingerprint(of: pki.otherRoot.certificatePEM))",
                "issued by \"CN=Sidecar Test Root CA",
            ], in: bed)
        expectNoRequestArrived(bed)
        // The sidecar aborted the handshake itself (nginx logs the client's alert).
        #expect(bed.nginx.errorLog.contains("SSL_do_handshake() failed"), "\(bed.diagnostics)")
    }

    @Test func hostnameMismatchIsRefusedAndCounted() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        // nginx answers SNI other.default.svc (only) with a certificate for backend.default.svc.
        try bed.nginx.start([.tls(name: "backend", certificates: ["other.default.svc": pki.leaf])])
        let port = bed.nginx.port("backend")
        try bed.write(
            "all.yaml", Manifest.service("backend", ports: [("https", port)]),
            Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM),
            Manifest.policy("backend", service: "backend", hostname: "other.default.svc"))
        let sidecar = try bed.startSidecar()
        let failures = ["policy": "default/backend", "reason": "hostname_mismatch"]
        let before = try sidecar.metric("backendtls_sidecar_verify_failures_total", failures)

        expectRefusal(
            try sidecar.get("backend:\(port)"), reason: "hostname_mismatch",
            mentioning: ["SNI other.default.svc", "not valid for other.default.svc", "DNS:\(Self.hostname)"], in: bed)
        #expect(try sidecar.metric("backendtls_sidecar_verify_failures_total", failures) == before + 1)
        expectRefusal(
            try sidecar.getThroughProxy("http://backend.default.svc:\(port)/"), reason: "hostname_mismatch", in: bed)
        #expect(try sidecar.metric("backendtls_sidecar_verify_failures_total", failures) == before + 2)
        #expect(try sidecar.metric("backendtls_sidecar_requests_total", ["code": "502"]) >= 2)
        #expect(
            try sidecar.metric(
                "backendtls_sidecar_upstream_handshakes_total", ["policy": "default/backend", "result": "failure"]) == 2
        )
        expectNoRequestArrived(bed)
    }

    @Test func systemTrustStoreDoesNotTrustAPrivateCA() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([.tls(name: "backend", certificates: [Self.hostname: pki.leaf])])
        let port = bed.nginx.port("backend")
        try bed.write(
            "all.yaml", Manifest.service("backend", ports: [("https", port)]),
            Manifest.policy("backend", service: "backend", trust: .system))
        let sidecar = try bed.startSidecar()

        expectRefusal(
            try sidecar.get("backend:\(port)"), reason: "unknown_issuer", mentioning: ["system CA store"], in: bed)
        expectNoRequestArrived(bed)
    }

    @Test func backendThatIsDownIsA502AndTheSidecarKeepsServing() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let port = try LoopbackPort.free()
        try bed.write(
            "all.yaml", Manifest.service("backend", ports: [("https", port)]),
            Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM),
            Manifest.policy("backend", service: "backend"))
        let sidecar = try bed.startSidecar()

        for _ in 0..<2 {
            expectRefusal(
                try sidecar.get("backend:\(port)"), reason: "connection_refused", mentioning: ["127.0.0.1:\(port)"],
                in: bed)
            usleep(200_000)
        }
        #expect((try? sidecar.observability("/healthz").status) == 200, "the sidecar died\n\(bed.diagnostics)")
    }

    // MARK: (g) options

    @Test func minimumTLSVersionRefusesATLS12OnlyBackend() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([.tls(name: "backend", certificates: [Self.hostname: pki.leaf], protocols: "TLSv1.2")])
        let port = bed.nginx.port("backend")
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM))
        try bed.write(
            "services.yaml", Manifest.service("backend", ports: [("https", port)]),
            Manifest.service("tls12", ports: [("https", port)]))
        try bed.write(
            "policies.yaml",
            Manifest.policy("backend", service: "backend", options: ["backendtls.dev/min-tls-version": "1.3"]),
            // Control: the same backend without the option is fine over TLS 1.2.
            Manifest.policy("tls12", service: "tls12"))
        let sidecar = try bed.startSidecar()

        expectRefusal(
            try sidecar.get("backend:\(port)"), reason: "handshake_failed", mentioning: ["TLS version"], in: bed)
        expectNoRequestArrived(bed)
        expectOK(try sidecar.get("tls12:\(port)"), from: "backend", in: bed)
        #expect(bed.nginx.waitForAccessLog(count: 1) == [entry(port, Self.hostname)], "\(bed.diagnostics)")
    }

    // MARK: (i) CA rotation

    @Test func rotatedCABundleIsTrustedByNewConnectionsWithinASecond() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        // `legacy` keeps serving a certificate from the old CA: once the bundle moves on, it must be refused,
        // even though the sidecar holds a pooled connection to it verified under the old bundle.
        let legacy = NginxBackend.Server.tls(name: "legacy", certificates: [Self.hostname: pki.leaf])
        try bed.nginx.start([.tls(name: "backend", certificates: [Self.hostname: pki.leaf]), legacy])
        let port = bed.nginx.port("backend")
        let legacyPort = bed.nginx.port("legacy")
        try bed.write(
            "services.yaml", Manifest.service("backend", ports: [("https", port)]),
            Manifest.service("legacy", ports: [("https", legacyPort)]))
        try bed.write(
            "policies.yaml", Manifest.policy("backend", service: "backend"),
            Manifest.policy("legacy", service: "legacy"))
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM))
        let sidecar = try bed.startSidecar()
        expectOK(try sidecar.get("backend:\(port)"), from: "backend", in: bed)
        expectOK(try sidecar.get("legacy:\(legacyPort)"), from: "legacy", in: bed)

        // The backend moves to a certificate from the new CA; wait until nginx serves it.
        try bed.nginx.reload([.tls(name: "backend", certificates: [Self.hostname: pki.newLeaf]), legacy])
        let newCA = bed.directory.appendingPathComponent("new-root.crt")
        try pki.newRoot.certificatePEM.write(to: newCA, atomically: true, encoding: .utf8)
        let served = eventually(timeout: 10) {
            let direct = try? Curl.run([
                "--noproxy", "*", "--cacert", newCA.path, "--resolve", "\(Self.hostname):\(port):127.0.0.1",
                "https://\(Self.hostname):\(port)/direct",
            ])
            return direct?.status == 200
        }
        try #require(served, "nginx did not reload\n\(bed.diagnostics)")

        // Then the bundle follows. Wait for the sidecar to load it: until then a pooled connection to the old
        // nginx worker (still serving the old certificate) can legitimately answer under the old bundle.
        let reloads = ["result": "success"]
        let loadsBefore = try sidecar.metric("backendtls_sidecar_config_reloads_total", reloads)
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: pki.newRoot.certificatePEM))
        let swapped = Date()
        let loaded = eventually(timeout: 5) {
            (try? sidecar.metric("backendtls_sidecar_config_reloads_total", reloads)) ?? 0 > loadsBefore
        }
        let elapsed = Date().timeIntervalSince(swapped)
        #expect(loaded, "the new bundle was not loaded\n\(bed.diagnostics)")
        // Issue 5: within 1 s; the sidecar polls every 250 ms, and the slack is for a busy machine.
        #expect(elapsed < 1.5, "the new CA was loaded only after \(elapsed) s")
        var last: HTTPResult?
        let trusted = eventually(timeout: 5) {
            last = try? sidecar.get("backend:\(port)", path: "/after-rotation")
            return last?.status == 200
        }
        #expect(trusted, "\(last.map { "\($0)" } ?? "-")\n\(bed.diagnostics)")
        #expect(
            bed.nginx.waitForAccessLog(count: 4).last == entry(port, Self.hostname, "GET /after-rotation HTTP/1.1"),
            "\(bed.diagnostics)")

        expectRefusal(
            try sidecar.get("legacy:\(legacyPort)"), reason: "unknown_issuer", policy: "default/legacy", in: bed)
        #expect(bed.nginx.accessLog.filter { $0.port == legacyPort }.count == 1, "\(bed.diagnostics)")
    }

    // MARK: (j) no policy

    @Test func noPolicyForwardsPlaintext() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([.plain(name: "plain")])
        let port = bed.nginx.port("plain")
        try bed.write("service.yaml", Manifest.service("plain", ports: [("http", port)]))
        let sidecar = try bed.startSidecar()

        expectOK(try sidecar.get("plain:\(port)", path: "/plaintext"), from: "plain", in: bed)
        #expect(
            bed.nginx.waitForAccessLog(count: 1) == [entry(port, "-", "GET /plaintext HTTP/1.1")], "\(bed.diagnostics)")
    }

    /// A plaintext backend that closes after every response (`Connection: close`): closing the connection
    /// from within the response's end fires its close at once (no TLS shutdown in between), while its bytes are
    /// still being read. Every request is answered, and the sidecar stays up.
    @Test func plaintextBackendThatClosesAfterEachResponse() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        bed.nginx.keepaliveRequests = 1
        try bed.nginx.start([.plain(name: "plain")])
        let port = bed.nginx.port("plain")
        try bed.write("service.yaml", Manifest.service("plain", ports: [("http", port)]))
        let sidecar = try bed.startSidecar()

        for index in 0..<5 {
            expectOK(try sidecar.get("plain:\(port)", path: "/closing-\(index)"), from: "plain", in: bed)
        }
        #expect(bed.nginx.waitForAccessLog(count: 5).count == 5, "\(bed.diagnostics)")
        #expect(sidecar.isRunning, "\(bed.diagnostics)")
    }

    @Test func requirePolicyRefusesServicesWithoutOne() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([.plain(name: "plain")])
        let port = bed.nginx.port("plain")
        try bed.write("service.yaml", Manifest.service("plain", ports: [("http", port)]))
        let sidecar = try bed.startSidecar(arguments: ["--require-policy"])

        expectRefusal(
            try sidecar.get("plain:\(port)"), reason: "no_policy", policy: nil, mentioning: ["--require-policy"],
            in: bed
        )
        expectNoRequestArrived(bed)
        #expect(bed.nginx.clientConnectionLines.isEmpty, "\(bed.diagnostics)")
    }

    // MARK: (k) invalid policy

    @Test func invalidPolicyFailsClosedWithoutTouchingTheBackend() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([
            // Were the sidecar to connect anyway (with either name as SNI), nginx would log the request.
            .tls(name: "backend", certificates: ["127.0.0.1": pki.leaf, Self.hostname: pki.leaf]),
            .plain(name: "plain"),
        ])
        let port = bed.nginx.port("backend")
        let plainPort = bed.nginx.port("plain")
        try bed.write(
            "services.yaml",
            Manifest.service("backend", ports: [("https", port), ("http", plainPort)]),
            Manifest.service("unresolvable", ports: [("https", port)]))
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM))
        try bed.write(
            "policies.yaml",
            // TLS forbids IP addresses as SNI (RFC 6066): the policy is invalid.
            Manifest.policy("backend", service: "backend", hostname: "127.0.0.1"),
            // A CA that cannot be resolved: the referenced ConfigMap does not exist.
            Manifest.policy("unresolvable", service: "unresolvable", trust: .configMap("missing-ca")))
        let sidecar = try bed.startSidecar()

        let invalid = try sidecar.get("backend:\(port)")
        #expect(invalid.status == 502, "\(invalid)\n\(bed.diagnostics)")
        #expect(invalid.backendTLSError?.hasPrefix("policy default/backend: ") == true, "\(invalid)")
        #expect(invalid.backendTLSError?.contains("127.0.0.1") == true, "\(invalid)")
        let missing = try sidecar.get("unresolvable:\(port)")
        #expect(missing.status == 502, "\(missing)\n\(bed.diagnostics)")
        #expect(missing.backendTLSError?.hasPrefix("policy default/unresolvable: ") == true, "\(missing)")
        #expect(missing.backendTLSError?.contains("missing-ca") == true, "\(missing)")

        // Not a request, not even a connection, on either port.
        expectNoRequestArrived(bed)
        #expect(bed.nginx.clientConnectionLines.isEmpty, "\(bed.diagnostics)")
    }

    // MARK: TCP mode

    @Test func tcpRoutesRelayOverVerifiedTLSAndCloseOnRefusal() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([
            .tls(name: "backend", certificates: [Self.hostname: pki.leaf, "other.default.svc": pki.leaf])
        ])
        let port = bed.nginx.port("backend")
        try bed.write(
            "all.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM),
            Manifest.service("backend", ports: [("https", port)]),
            Manifest.service("mismatch", ports: [("https", port)]),
            Manifest.policy("backend", service: "backend"),
            Manifest.policy("mismatch", service: "mismatch", hostname: "other.default.svc"))
        let sidecar = try bed.startSidecar(routes: ["backend.default:\(port)", "mismatch.default:\(port)"])

        let relayed = try sidecar.getThroughRoute(0, authority: "anything")
        expectOK(relayed, from: "backend", in: bed)
        #expect(bed.nginx.waitForAccessLog(count: 1) == [entry(port, Self.hostname)], "\(bed.diagnostics)")

        let refused = try sidecar.getThroughRoute(1, authority: "anything")
        #expect(refused.status == nil, "TCP mode has no error page: \(refused)")
        #expect([52, 56].contains(refused.curlStatus), "the connection is closed: \(refused)")
        expectNoRequestArrived(bed, before: 1)
        #expect(
            try sidecar.metric(
                "backendtls_sidecar_verify_failures_total",
                ["policy": "default/mismatch", "reason": "hostname_mismatch"])
                == 1)
        #expect(sidecar.log.contains("SNI other.default.svc"), "\(bed.diagnostics)")
    }

    /// Connections arriving together on a TCP route are each relayed. The relay once started before the
    /// listener had registered the accepted connection; when the upstream handshake won that race, the read
    /// it asked for was lost and the connection was never read (29 of 1,200 against the debug build, so 2,400
    /// leave the bug no real chance to hide). The race needs two event loops, i.e. at least two CPUs.
    @Test func tcpRouteRelaysEveryConnectionOfABurst() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let (sidecar, _) = try bed.startTrustedBackend(tcpRoute: true)

        // 300 rounds of 8 connections at once, each one request; prints how many were answered with 200.
        let script = #"""
            import socket, sys, threading
            port, answered, lock = int(sys.argv[1]), [0], threading.Lock()
            def one():
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: anything\r\nConnection: close\r\n\r\n")
                    data = b""
                    try:
                        while chunk := s.recv(65536):
                            data += chunk
                    except socket.timeout:
                        return
                    if data.startswith(b"HTTP/1.1 200"):
                        with lock:
                            answered[0] += 1
            for _ in range(300):
                threads = [threading.Thread(target=one) for _ in range(8)]
                for thread in threads: thread.start()
                for thread in threads: thread.join()
            print(answered[0])
            """#
        let output = try ProcessRunner.run("python3", ["-c", script, String(sidecar.routePorts[0])])
        #expect(
            output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "2400",
            "\(output.standardError)\n\(bed.diagnostics)")
    }

    /// A client that sends, then shuts down its side, still gets the backend's answer: the relay passes the
    /// end of input on (TLS close_notify to the backend) instead of closing, then relays the answer. The
    /// client's bytes and end arrive before the upstream connection is ready and are held until it is. This
    /// backend reads to the end before it answers, as protocols built on half-close do; nginx takes a
    /// client's end of input for an abort.
    @Test func tcpRouteRelaysAHalfCloseAndTheAnswerAfterIt() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let port = try LoopbackPort.free()
        let chain = bed.directory.appendingPathComponent("half-close.crt")
        let key = bed.directory.appendingPathComponent("half-close.key")
        try pki.leaf.chainPEM.write(to: chain, atomically: true, encoding: .utf8)
        try pki.leaf.keyPEM.write(to: key, atomically: true, encoding: .utf8)
        let server = #"""
            import socket, ssl, sys
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2], sys.argv[3])
            listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
            while True:
                connection, _ = listener.accept()
                try:
                    with context.wrap_socket(connection, server_side=True) as tls:
                        received = 0
                        while chunk := tls.recv(65536):
                            received += len(chunk)
                        tls.sendall(b"received %d\n" % received + b"x" * (1 << 20))
                except (OSError, ssl.SSLError):
                    pass
            """#
        let backend = try ChildProcess(
            "/usr/bin/env", ["python3", "-c", server, String(port), chain.path, key.path],
            log: bed.directory.appendingPathComponent("half-close.log"))
        defer { _ = backend.stop() }
        try bed.write(
            "all.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM),
            Manifest.service("backend", ports: [("https", port)]), Manifest.policy("backend", service: "backend"))
        let sidecar = try bed.startSidecar(routes: ["backend.default:\(port)"])

        let client = #"""
            import socket, sys, time
            backend, route = int(sys.argv[1]), int(sys.argv[2])
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", backend)).close()
                    break
                except OSError:
                    time.sleep(0.1)
            answers = []
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", route), timeout=10) as s:
                    s.sendall(b"y" * 100000)
                    s.shutdown(socket.SHUT_WR)
                    data = bytearray()
                    while chunk := s.recv(65536):
                        data += chunk
                    newline = data.find(b"\n")
                    answers.append(data[:newline].decode() + " +" + str(len(data) - newline - 1))
            print(" / ".join(answers))
            """#
        let output = try ProcessRunner.run(
            "python3", ["-c", client, String(port), String(sidecar.routePorts[0])])
        let answer = "received 100000 +\(1 << 20)"
        #expect(
            output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
                == [answer, answer, answer].joined(separator: " / "),
            "\(output.standardError)\n\(bed.diagnostics)")
    }

    @Test func sigtermShutsDownGracefully() throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.write("service.yaml", Manifest.service("plain", ports: [("http", 8080)]))
        let sidecar = try bed.startSidecar()
        // Running for a while (several configuration polls), as a sidecar does before its pod is deleted.
        usleep(1_000_000)
        // Exit status 0 within the 5 s grace period (nil: it had to be killed).
        let status = sidecar.stop()
        #expect(status == 0, "\(sidecar.log)")
    }

    // MARK: Configuration loading

    @Test func answers503UntilTheConfigurationLoadsThenKeepsTheLastGoodOne() throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        try bed.nginx.start([.tls(name: "backend", certificates: [Self.hostname: pki.leaf])])
        let port = bed.nginx.port("backend")
        let policy = Manifest.policy("backend", service: "backend")
        // A typo an editor makes: the hostname's closing quote is missing, so the file is not YAML.
        let brokenPolicy = policy.replacingOccurrences(of: "\"\(Self.hostname)\"", with: "\"\(Self.hostname)")
        try #require(brokenPolicy != policy)
        try bed.write("all.yaml", Manifest.service("backend", ports: [("https", port)]))
        try bed.write("ca.yaml", Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM))
        try bed.write("policy.yaml", brokenPolicy)
        let sidecar = try bed.startSidecar(waitUntilReady: false)

        // Nothing good loaded yet: not ready, and 503 — never "no policy, so plaintext".
        #expect(try sidecar.observability("/readyz").status == 503)
        expectRefusal(try sidecar.get("backend:\(port)"), status: 503, reason: "not_ready", policy: nil, in: bed)
        expectNoRequestArrived(bed)

        try bed.write("policy.yaml", policy)
        var last: HTTPResult?
        let loaded = eventually {
            last = try? sidecar.get("backend:\(port)", path: "/loaded")
            return last?.status == 200
        }
        #expect(loaded, "\(last.map { "\($0)" } ?? "-")\n\(bed.diagnostics)")
        #expect(try sidecar.observability("/readyz").status == 200)

        // The policy file breaks again: the failure is counted and the last good configuration stays in force.
        let failuresBefore = try sidecar.metric("backendtls_sidecar_config_reloads_total", ["result": "failure"])
        try bed.write("policy.yaml", brokenPolicy)
        let counted = eventually {
            ((try? sidecar.metric("backendtls_sidecar_config_reloads_total", ["result": "failure"])) ?? 0)
                > failuresBefore
        }
        #expect(counted, "\(bed.diagnostics)")
        expectOK(try sidecar.get("backend:\(port)", path: "/kept"), from: "backend", in: bed)
        #expect(
            bed.nginx.waitForAccessLog(count: 2).last == entry(port, Self.hostname, "GET /kept HTTP/1.1"),
            "\(bed.diagnostics)")
    }

    /// `sha256:` and the hex SHA-256 of the certificates' DER, as the sidecar names a CA bundle.
    private func fingerprint(of pem: String) throws -> String {
        let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let der = try #require(Data(base64Encoded: base64))
        return "sha256:" + SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
    }
}
