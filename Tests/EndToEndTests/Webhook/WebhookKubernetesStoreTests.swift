import BackendTLS
import Foundation
import KubeTestServer
import Testing

/// The built webhook with `--store kubernetes`, reading a `TestKubeAPIServer` (the test double of the API
/// server, over HTTPS with a bearer token) through a kubeconfig, exactly as it would read a real cluster.
extension WebhookEndToEndTests {
    @Suite struct KubernetesStore {
        /// A test API server with a Service `api` and a CA ConfigMap, and a kubeconfig for it.
        final class Cluster: Sendable {
            let server: TestKubeAPIServer
            let directory: URL
            let kubeconfig: String

            init(servedPolicyVersions: [String] = ["v1", "v1alpha3"]) async throws {
                directory = try ProcessRunner.temporaryDirectory("backendtls-kube-e2e")
                server = try TestKubeAPIServer(
                    directory: directory.appendingPathComponent("pki").path,
                    servedPolicyVersions: servedPolicyVersions)
                try await server.start()
                kubeconfig = directory.appendingPathComponent("kubeconfig").path
                try server.writeKubeconfig(to: kubeconfig, token: "token-1")
                server.apply(try Self.json(AdmissionFixture.service("api")))
            }

            static func json(_ object: [String: Any]) throws -> JSONValue {
                try JSONParser.parse(Array(AdmissionFixture.data(object)))
            }

            /// A real CA certificate (the test server's own), so a ConfigMap holding it inspects clean.
            var caPEM: String { (try? String(contentsOfFile: server.caFile, encoding: .utf8)) ?? "" }

            func startWebhook(_ extra: [String] = [], waitUntilReady: Bool = true) throws -> WebhookProcess {
                try WebhookProcess.start(
                    ["--store", "kubernetes", "--kubeconfig", kubeconfig] + extra, waitUntilReady: waitUntilReady)
            }

            func tearDown() async {
                await server.stop()
                try? FileManager.default.removeItem(at: directory)
            }
        }

        @Test func conflictWithAPolicyThatOnlyExistsInTheCluster() async throws {
            let cluster = try await Cluster()
            var existing = AdmissionFixture.policy("existing", service: "api")
            existing["metadata"] = [
                "name": "existing", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z",
            ]
            cluster.server.apply(try Cluster.json(existing))
            let webhook = try cluster.startWebhook()
            defer { webhook.stop() }
            let answer = try webhook.review(
                "/validate", AdmissionFixture.policyReview(AdmissionFixture.policy("newcomer", service: "api")))
            #expect(answer.allowed == false, "\(answer)")
            #expect(answer.message?.contains("existing") == true, "names the policy it conflicts with: \(answer)")
            // The webhook never saw "existing" in an admission: it came from the list/watch.
            let metrics = try webhook.metrics()
            #expect(
                metrics.value("backendtls_kube_relists_total", ["resource": "backendtlspolicies", "reason": "initial"])
                    == 1)
            #expect(metrics.contains("backendtls_kube_request_duration_seconds_bucket"))

            // A policy created in the cluster after start arrives through the watch.
            var later = AdmissionFixture.policy("later", service: "db")
            later["metadata"] = ["name": "later", "namespace": "default", "creationTimestamp": "2026-01-02T00:00:00Z"]
            cluster.server.apply(try Cluster.json(AdmissionFixture.service("db")))
            cluster.server.apply(try Cluster.json(later))
            let deniedLater = eventually(timeout: 5) {
                let answer = try? webhook.review(
                    "/validate", AdmissionFixture.policyReview(AdmissionFixture.policy("rival", service: "db")))
                return answer?.allowed == false
            }
            #expect(deniedLater)
            #expect(
                try webhook.metrics().value(
                    "backendtls_kube_watch_events_total", ["resource": "backendtlspolicies", "type": "ADDED"]) >= 1)
            await cluster.tearDown()
        }

        @Test func caConfigMapThatOnlyExistsInTheClusterIsInspected() async throws {
            let cluster = try await Cluster()
            cluster.server.apply(
                try Cluster.json(AdmissionFixture.configMap("good-ca", data: ["ca.crt": cluster.caPEM])))
            cluster.server.apply(
                try Cluster.json(
                    AdmissionFixture.configMap(
                        "broken-ca",
                        data: ["ca.crt": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"])))
            cluster.server.apply(
                try Cluster.json(AdmissionFixture.configMap("no-key", data: ["tls.crt": cluster.caPEM])))
            let webhook = try cluster.startWebhook()
            defer { webhook.stop() }
            let good = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(AdmissionFixture.policy("good", service: "api", caConfigMap: "good-ca")))
            #expect(good.allowed == true, "\(good)")
            #expect(good.warnings.isEmpty, "\(good.warnings)")
            let broken = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(
                    AdmissionFixture.policy("broken", service: "api", caConfigMap: "broken-ca")))
            #expect(broken.allowed == false)
            #expect(broken.message?.contains("ConfigMap \"broken-ca\" key \"ca.crt\"") == true, "\(broken)")
            let noKey = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(AdmissionFixture.policy("nokey", service: "api", caConfigMap: "no-key")))
            #expect(noKey.allowed == false)
            #expect(noKey.message?.contains("has no key \"ca.crt\" (keys: tls.crt)") == true, "\(noKey)")
            // Fetched by name, never listed: ConfigMaps are not cached cluster-wide.
            let configMapRequests = cluster.server.requests.filter { $0.path.contains("/configmaps") }
            #expect(configMapRequests.count == 3)
            #expect(configMapRequests.allSatisfy { $0.query["watch"] == nil && !$0.path.hasSuffix("/configmaps") })
            await cluster.tearDown()
        }

        @Test func slowOrAbsentAPIDegradesToAWarningWithinTheLookupTimeout() async throws {
            let cluster = try await Cluster()
            let webhook = try cluster.startWebhook(["--lookup-timeout", "0.5"])
            defer { webhook.stop() }
            cluster.server.setResponseDelay(.seconds(5))
            let start = Date()
            let slow = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(AdmissionFixture.policy("slow", service: "api", caConfigMap: "ca")))
            #expect(Date().timeIntervalSince(start) < 3, "admission waited for the API server")
            #expect(slow.allowed == true, "\(slow)")
            #expect(
                slow.warnings.contains {
                    $0.contains("ConfigMap \"ca\"") && $0.contains("could not be read from the Kubernetes API")
                        && $0.contains("no answer within")
                }, "\(slow.warnings)")
            // The policy's own rules still apply while the API is unreachable.
            let invalid = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(
                    AdmissionFixture.policy("by-ip", service: "api", caConfigMap: "ca2", hostname: "10.0.0.1")))
            #expect(invalid.allowed == false)
            await cluster.server.stop()
            let down = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(AdmissionFixture.policy("down", service: "api", caConfigMap: "ca3")))
            #expect(down.allowed == true, "\(down)")
            #expect(
                down.warnings.contains { $0.contains("could not be read from the Kubernetes API") }, "\(down.warnings)")
            #expect(
                down.warnings.contains { $0.contains("checked against the last known state") }, "\(down.warnings)")
            await cluster.tearDown()
        }

        /// HTTP/1.1 pipelining: a request that waits for an on-demand lookup is answered before the
        /// immediate one sent after it on the same connection (the API server matches answers by order).
        @Test func pipelinedAnswersKeepTheirOrderWhenTheFirstWaitsForTheAPI() async throws {
            let cluster = try await Cluster()
            let webhook = try cluster.startWebhook(["--lookup-timeout", "3"])
            defer { webhook.stop() }
            cluster.server.setResponseDelay(.milliseconds(700))
            let slow = try AdmissionFixture.data(
                AdmissionFixture.policyReview(
                    AdmissionFixture.policy("slow", service: "api", caConfigMap: "ca"), uid: "first-slow"))
            let fast = try AdmissionFixture.data(
                AdmissionFixture.coreReview(AdmissionFixture.configMap("plain", data: ["k": "v"])))
            let directory = try ProcessRunner.temporaryDirectory("pipelining")
            defer { try? FileManager.default.removeItem(at: directory) }
            try slow.write(to: directory.appendingPathComponent("slow.json"))
            try fast.write(to: directory.appendingPathComponent("fast.json"))
            // Both requests leave in one write; the script prints the uid of each answer in arrival order.
            let script = #"""
                import json, socket, ssl, sys
                port, ca, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
                bodies = [open(f"{folder}/{name}.json", "rb").read() for name in ("slow", "fast")]
                wire = b"".join(
                    b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + b"Content-Length: %d\r\n\r\n" % len(body) + body for body in bodies)
                context = ssl.create_default_context(cafile=ca)
                context.set_alpn_protocols(["http/1.1"])
                with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                    with context.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(wire)
                        data = b""
                        answers = []
                        while len(answers) < 2:
                            head_end = data.find(b"\r\n\r\n")
                            if head_end >= 0:
                                head = data[:head_end].decode()
                                length = int([l.split(":")[1] for l in head.split("\r\n") if l.lower().startswith("content-length")][0])
                                if len(data) >= head_end + 4 + length:
                                    answers.append(json.loads(data[head_end + 4:head_end + 4 + length]))
                                    data = data[head_end + 4 + length:]
                                    continue
                            chunk = tls.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                print(" ".join(a["response"]["uid"] for a in answers))
                """#
            let output = try ProcessRunner.run(
                "python3", ["-c", script, String(webhook.port), webhook.caFile, directory.path])
            #expect(output.status == 0, "\(output.standardError)")
            let uids = output.standardOutput.split(separator: " ").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(uids.count == 2, "\(output.standardOutput) \(output.standardError)")
            #expect(uids.first == "first-slow", "answers out of order: \(uids)")
            await cluster.tearDown()
        }

        @Test func denyModeRefusesWhatItCouldNotCheck() async throws {
            let cluster = try await Cluster()
            let webhook = try cluster.startWebhook(["--lookup-timeout", "0.5", "--when-api-unavailable", "deny"])
            defer { webhook.stop() }
            cluster.server.setResponseDelay(.seconds(5))
            let answer = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(AdmissionFixture.policy("slow", service: "api", caConfigMap: "ca")))
            #expect(answer.allowed == false)
            #expect(answer.message?.contains("could not be read from the Kubernetes API") == true, "\(answer)")
            await cluster.tearDown()
        }

        @Test func readinessWaitsForTheFirstSyncAndSaysWhy() async throws {
            let cluster = try await Cluster()
            cluster.server.setResponseDelay(.seconds(2))
            let webhook = try cluster.startWebhook(waitUntilReady: false)
            defer { webhook.stop() }
            let waiting = eventually(timeout: 5) {
                (try? webhook.probe("/readyz"))?.text.contains("not ready") == true
            }
            #expect(waiting)
            // A caller that reaches it anyway is told that nothing cross-object was checked.
            let early = try webhook.review(
                "/validate", AdmissionFixture.policyReview(AdmissionFixture.policy("early", service: "api")))
            #expect(early.warnings.contains { $0.contains("has not synced with the Kubernetes API") }, "\(early)")
            #expect(eventually(timeout: 15) { (try? webhook.probe("/readyz"))?.status == 200 })
            await cluster.tearDown()
        }

        @Test func clusterWithoutBackendTLSPolicyIsNeverReady() async throws {
            let cluster = try await Cluster(servedPolicyVersions: ["v1beta1"])
            let webhook = try cluster.startWebhook(waitUntilReady: false)
            defer { webhook.stop() }
            let explained = eventually(timeout: 10) {
                (try? webhook.probe("/readyz"))?.text.contains("none has backendtlspolicies") == true
            }
            #expect(explained, "\((try? webhook.probe("/readyz"))?.text ?? "")")
            #expect((try webhook.probe("/readyz")).status == 503)
            await cluster.tearDown()
        }

        @Test func unreadableKubeconfigStopsAtStartWithTheReason() throws {
            let webhook = try WebhookProcess.start(
                ["--store", "kubernetes", "--kubeconfig", "/nonexistent/kubeconfig"], waitUntilReady: false)
            defer { webhook.stop() }
            #expect(eventually(timeout: 10) { !webhook.isRunning })
            #expect(webhook.process.terminationStatus != 0)
            #expect(webhook.log.contains("kubeconfig /nonexistent/kubeconfig does not exist"), "\(webhook.log)")
        }
    }
}
