import BackendTLS
import BackendTLSManifests
import Foundation
import KubeTestServer
import Testing

/// `backendtls-sidecar --kube` against nginx, reading its configuration from the `TestKubeAPIServer`
/// (the test double of the API server) through a kubeconfig: policies, Services and the referenced CA
/// ConfigMap come from list/watch, and changes there reach the wire without a restart.
@Suite(.enabled(if: SidecarTools.available, "nginx, openssl or curl is not installed"))
struct SidecarKubeModeTests {
    static let hostname = SidecarPKI.serviceHostname

    /// Applies YAML manifests (as `--config-dir` tests write them) to the test API server.
    func apply(_ server: TestKubeAPIServer, _ manifests: String...) throws {
        for manifest in manifests {
            for object in try ManifestParser.parse(manifest, source: "test") { server.apply(object.object) }
        }
    }

    @Test func policiesAndCAComeFromTheClusterAndChangesApplyLive() async throws {
        let pki = try SidecarPKI.shared()
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let server = try TestKubeAPIServer(directory: bed.directory.appendingPathComponent("kube").path)
        try await server.start()
        let kubeconfig = bed.directory.appendingPathComponent("kubeconfig").path
        try server.writeKubeconfig(to: kubeconfig, token: "token-1")
        try bed.nginx.start([.tls(name: "backend", certificates: [Self.hostname: pki.leaf])])
        let port = bed.nginx.port("backend")
        try apply(
            server, Manifest.service("backend", ports: [("https", port)]),
            Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM),
            Manifest.caConfigMap("unrelated", pem: "not for this pod"),
            Manifest.policy("backend", service: "backend"))

        let sidecar = try bed.startSidecar(
            arguments: ["--kube", "--kubeconfig", kubeconfig, "--namespace", "default", "--require-policy"])
        let first = try sidecar.get("backend:\(port)", path: "/from-cluster")
        #expect(first.status == 200, "\(first)\n\(bed.diagnostics)")
        #expect(
            bed.nginx.waitForAccessLog(count: 1).last
                == NginxBackend.AccessLogEntry(
                    port: port, serverName: Self.hostname, request: "GET /from-cluster HTTP/1.1"),
            "\(bed.diagnostics)")

        // Another namespace's policies are not watched: its Services are refused, never taken as policy-free.
        let elsewhere = try sidecar.get("backend.elsewhere:\(port)")
        #expect(elsewhere.status == 502)
        #expect(elsewhere.backendTLSError?.contains("namespace_not_watched") == true, "\(elsewhere)")
        #expect(bed.nginx.waitForAccessLog(count: 1).count == 1, "the refused request reached a backend")

        // Only the referenced ConfigMap is read, by a name-selected list/watch; no Secret at all.
        let configMapRequests = server.requests.filter { $0.path.contains("configmaps") }
        #expect(!configMapRequests.isEmpty)
        #expect(
            configMapRequests.allSatisfy { $0.query["fieldSelector"] == "metadata.name=backend-ca" },
            "\(configMapRequests.map { "\($0.path)?\($0.query)" })")
        #expect(configMapRequests.contains { $0.query["watch"] == "1" })
        #expect(!server.requests.contains { $0.path.contains("secrets") })

        // A status-only write (what a gateway controller does constantly) makes no new configuration generation,
        // which would drain every pooled connection: the sidecar counts the rebuild it skipped as `unchanged`.
        // Changes are coalesced, so a rebuild may still be due from start-up: the counts must first stay still
        // for 200 ms, so that such a rebuild is not taken for the status write's.
        let success = ["result": "success"]
        let unchanged = ["result": "unchanged"]
        func count(_ labels: [String: String]) -> Double {
            (try? sidecar.metric("backendtls_sidecar_config_reloads_total", labels)) ?? 0
        }
        var last = (count(success), count(unchanged), Date())
        #expect(
            eventually(timeout: 5) {
                let now = (count(success), count(unchanged))
                if now != (last.0, last.1) { last = (now.0, now.1, Date()) }
                return Date().timeIntervalSince(last.2) >= 0.2
            }, "\(bed.diagnostics)")
        let (reloadsBefore, unchangedBefore) = (last.0, last.1)
        let policyEvents = ["resource": "backendtlspolicies", "type": "MODIFIED"]
        let eventsBefore = try sidecar.metric("backendtls_kube_watch_events_total", policyEvents)
        var withStatus = try ManifestParser.parse(Manifest.policy("backend", service: "backend"), source: "p")[0]
            .object
        if case .object(var root) = withStatus {
            root["status"] = try JSONParser.parse(
                #"{"ancestors": [{"ancestorRef": {"name": "gw"}, "controllerName": "example.com/gw", "conditions": []}]}"#
            )
            withStatus = .object(root)
        }
        server.apply(withStatus)
        // The write's event first, then the rebuild it causes (which follows the event).
        #expect(
            eventually(timeout: 3) {
                ((try? sidecar.metric("backendtls_kube_watch_events_total", policyEvents)) ?? 0) > eventsBefore
            }, "\(bed.diagnostics)")
        #expect(eventually(timeout: 3) { count(unchanged) > unchangedBefore }, "\(bed.diagnostics)")
        #expect(try sidecar.get("backend:\(port)", path: "/after-status").status == 200)
        #expect(
            count(success) == reloadsBefore, "a status update made a new configuration generation\n\(bed.diagnostics)")

        // The CA is replaced in the cluster by one that did not issue the backend's certificate.
        try apply(server, Manifest.caConfigMap("backend-ca", pem: pki.otherRoot.certificatePEM))
        var refused: HTTPResult?
        #expect(
            eventually(timeout: 3) {
                refused = try? sidecar.get("backend:\(port)")
                return refused?.status == 502
            }, "\(bed.diagnostics)")
        #expect(refused?.backendTLSError?.contains("unknown_issuer") == true, "\(String(describing: refused))")

        // Back to the right CA, then the policy is deleted: --require-policy refuses instead of plaintext.
        try apply(server, Manifest.caConfigMap("backend-ca", pem: pki.root.certificatePEM))
        #expect(eventually(timeout: 3) { (try? sidecar.get("backend:\(port)"))?.status == 200 }, "\(bed.diagnostics)")
        server.delete(try ManifestParser.parse(Manifest.policy("backend", service: "backend"), source: "p")[0].object)
        var unprotected: HTTPResult?
        #expect(
            eventually(timeout: 3) {
                unprotected = try? sidecar.get("backend:\(port)")
                return unprotected?.status == 502
            }, "\(bed.diagnostics)")
        #expect(unprotected?.backendTLSError?.contains("no_policy") == true, "\(String(describing: unprotected))")
        #expect(try sidecar.metric("backendtls_kube_request_duration_seconds_count", ["verb": "watch"]) >= 3)
        #expect(
            try sidecar.metric("backendtls_kube_watch_events_total", ["resource": "configmaps", "type": "MODIFIED"])
                >= 2)
        await server.stop()
    }

    @Test func notReadyUntilTheClusterAnswersAndSaysWhy() async throws {
        let bed = try SidecarTestbed()
        defer { bed.tearDown() }
        let server = try TestKubeAPIServer(
            directory: bed.directory.appendingPathComponent("kube").path, servedPolicyVersions: ["v1beta1"])
        try await server.start()
        let kubeconfig = bed.directory.appendingPathComponent("kubeconfig").path
        try server.writeKubeconfig(to: kubeconfig, token: "token-1")
        let sidecar = try bed.startSidecar(arguments: ["--kube", "--kubeconfig", kubeconfig], waitUntilReady: false)
        #expect(
            eventually(timeout: 10) {
                (try? sidecar.observability("/readyz"))?.body.contains("none has backendtlspolicies") == true
            }, "\(bed.diagnostics)")
        #expect(try sidecar.observability("/readyz").status == 503)
        // Traffic meanwhile fails closed with 503.
        #expect(try sidecar.get("backend:443").status == 503)
        await server.stop()
    }
}
