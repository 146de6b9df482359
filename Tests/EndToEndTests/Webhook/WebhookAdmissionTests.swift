import Foundation
import Testing

/// The built `backendtls-webhook` driven by curl over real TLS. Serialized: the tests measure timeouts of a
/// second or two on a small machine, and each starts its own webhook process.
@Suite(.serialized, .enabled(if: WebhookTools.available, "needs curl, openssl and a built backendtls-webhook"))
struct WebhookEndToEndTests {}

extension WebhookEndToEndTests {
    /// Every admission branch, as the API server would meet it.
    @Suite struct Admission {
        @Test func allowsAValidPolicyAndEchoesTheUID() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            for (index, http) in ["--http1.1", "--http2"].enumerated() {
                // The memory store learns the Service from its own (unhandled, allowed) admission.
                let service = try webhook.review(
                    "/validate", AdmissionFixture.coreReview(AdmissionFixture.service("api-\(index)")), http: http)
                #expect(service.allowed == true)
                #expect(service.warnings.isEmpty)

                let uid = "uid-\(index)-\(UUID().uuidString)"
                let policy = AdmissionFixture.policy("api-\(index)", service: "api-\(index)", sectionName: "https")
                let answer = try webhook.review(
                    "/validate", AdmissionFixture.policyReview(policy, uid: uid), http: http)
                #expect(answer.apiVersion == AdmissionFixture.v1)
                #expect(answer.kind == "AdmissionReview")
                #expect(answer.uid == uid)
                #expect(answer.allowed == true, "\(answer)")
                #expect(answer.status == nil)
                #expect(answer.warnings.isEmpty, "a policy for a known Service with system CAs: \(answer.warnings)")
                #expect(!answer.hasPatch)
            }
        }

        @Test func deniesWithOneReadableForbiddenMessage() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let uid = "deny-\(UUID().uuidString)"
            let ipHostname = AdmissionFixture.policy("by-ip", service: "api", hostname: "10.0.0.1")
            for http in ["--http1.1", "--http2"] {
                let answer = try webhook.review(
                    "/validate", AdmissionFixture.policyReview(ipHostname, uid: uid), http: http)
                #expect(answer.uid == uid)
                #expect(answer.allowed == false)
                #expect(answer.statusCode == 403)
                #expect(answer.reason == "Forbidden")
                #expect(answer.status?["status"] as? String == "Failure")
                let message = try #require(answer.message)
                #expect(message.hasPrefix("BackendTLSPolicy default/by-ip is invalid: "), "\(message)")
                #expect(message.contains("spec.validation.hostname"), "the message names the field: \(message)")
                #expect(message.contains("10.0.0.1"))
                #expect(!message.contains("\n"), "one error, one line: \(message)")
                #expect(!answer.hasPatch)
                expectWellFormedWarnings(answer)
            }

            // Several errors: one message listing each with its field path.
            var twoErrors = AdmissionFixture.policy("two", service: "api", hostname: "10.0.0.2", defaulted: false)
            twoErrors["spec"] = [
                "targetRefs": [["kind": "Service", "name": "api"]],
                "validation": ["hostname": "10.0.0.2", "wellKnownCACertificates": "System"],
            ]
            let answer = try webhook.review("/validate", AdmissionFixture.policyReview(twoErrors))
            #expect(answer.allowed == false)
            #expect(answer.statusCode == 403)
            let message = try #require(answer.message)
            #expect(message.hasPrefix("BackendTLSPolicy default/two is invalid ("), "\(message)")
            #expect(message.contains("- spec.targetRefs[0].group: Required value"), "\(message)")

            let metrics = try webhook.metrics()
            #expect(
                metrics.value(
                    "backendtls_webhook_requests_total",
                    ["endpoint": "validate", "kind": "BackendTLSPolicy", "operation": "CREATE", "allowed": "false"])
                    == 3)
            #expect(metrics.value("backendtls_webhook_denials_total") >= 3)
            #expect(webhook.log.contains("denied"), "a denial is logged at info")
        }

        @Test func warningsAreSingleLineAndShort() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let unknown = try webhook.review(
                "/validate", AdmissionFixture.policyReview(AdmissionFixture.policy("ghost", service: "nowhere")))
            #expect(unknown.allowed == true)
            #expect(unknown.warnings.count == 1, "\(unknown.warnings)")
            #expect(
                unknown.warnings.first?.contains("Service default/nowhere not found") == true, "\(unknown.warnings)")
            expectWellFormedWarnings(unknown)

            // A 253-character Service name makes the warning text longer than the API server keeps.
            let longName =
                String(repeating: "a", count: 60) + "." + String(repeating: "b", count: 60) + "."
                + String(repeating: "c", count: 60) + "." + String(repeating: "d", count: 70)
            let long = try webhook.review(
                "/validate", AdmissionFixture.policyReview(AdmissionFixture.policy("long", service: longName)))
            #expect(long.allowed == true, "\(long)")
            #expect(!long.warnings.isEmpty)
            expectWellFormedWarnings(long)
            #expect(long.warnings.contains { $0.hasSuffix("…") }, "an over-long warning is cut: \(long.warnings)")

            // A missing CA ConfigMap adds a second warning; both survive.
            let missingCA = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(
                    AdmissionFixture.policy("no-ca", service: "elsewhere", caConfigMap: "missing-ca")))
            #expect(missingCA.allowed == true)
            #expect(missingCA.warnings.count == 2, "\(missingCA.warnings)")
            #expect(missingCA.warnings.contains { $0.contains("\"missing-ca\" not found") }, "\(missingCA.warnings)")
            expectWellFormedWarnings(missingCA)
            #expect(try webhook.metrics().value("backendtls_webhook_warnings_total") >= 4)
        }

        @Test func mutateReturnsAJSONPatchAndValidateNever() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            var policy = AdmissionFixture.policy(
                "needs-defaults", service: "api", caConfigMap: "api-ca", hostname: "API.Example.COM", defaulted: false)
            let review = AdmissionFixture.policyReview(policy)
            for http in ["--http1.1", "--http2"] {
                let mutated = try webhook.review("/mutate", review, http: http)
                #expect(mutated.allowed == true)
                #expect(mutated.patchType == "JSONPatch")
                let operations = try #require(mutated.patch, "patch is base64 JSON: \(mutated)")
                let rendered = Set(
                    operations.map { operation in
                        ["op", "path", "value"].map { String(describing: operation[$0] ?? "") }.joined(separator: " ")
                    })
                #expect(
                    rendered == [
                        "add /spec/targetRefs/0/group ",
                        "add /spec/validation/caCertificateRefs/0/group ",
                        "add /spec/validation/caCertificateRefs/0/kind ConfigMap",
                        "replace /spec/validation/hostname api.example.com",
                    ], "\(operations)")
                #expect(mutated.status == nil)
            }
            let validated = try webhook.review("/validate", review)
            #expect(!validated.hasPatch, "/validate never patches: \(validated)")

            // Already defaulted: no patch and no patchType.
            policy = AdmissionFixture.policy("defaulted", service: "api", caConfigMap: "api-ca")
            let clean = try webhook.review("/mutate", AdmissionFixture.policyReview(policy))
            #expect(clean.allowed == true)
            #expect(!clean.hasPatch, "\(clean)")
            // Never a patch on DELETE, nor for kinds /mutate does not default.
            let delete = try webhook.review(
                "/mutate",
                AdmissionFixture.policyReview(
                    AdmissionFixture.policy("gone", service: "api", defaulted: false), operation: "DELETE"))
            #expect(delete.allowed == true)
            #expect(!delete.hasPatch, "\(delete)")
            let configMap = try webhook.review(
                "/mutate", AdmissionFixture.coreReview(AdmissionFixture.configMap("cm", data: ["x": "y"])))
            #expect(configMap.allowed == true)
            #expect(!configMap.hasPatch)
            // /validate on the same kinds and a denial: no patch either.
            for review in [
                AdmissionFixture.policyReview(AdmissionFixture.policy("ip", service: "x", hostname: "10.1.1.1")),
                AdmissionFixture.policyReview(policy),
            ] {
                #expect(!(try webhook.review("/validate", review)).hasPatch)
            }
        }

        @Test func dryRunGetsTheSameAnswerAndTeachesTheStoreNothing() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            // Dry run first: identical answer to the real request that follows with the same uid.
            let first = AdmissionFixture.policy("first", service: "shared", sectionName: "https")
            let dry = try webhook.review("/validate", AdmissionFixture.policyReview(first, dryRun: true, uid: "same"))
            let dryMutate = try webhook.review("/mutate", AdmissionFixture.policyReview(first, dryRun: true, uid: "m"))
            #expect(dry.allowed == true)
            #expect(!dryMutate.hasPatch)

            // The dry-run policy was not stored: a conflicting real policy is allowed.
            let second = AdmissionFixture.policy("second", service: "shared", sectionName: "https")
            let secondAnswer = try webhook.review("/validate", AdmissionFixture.policyReview(second))
            #expect(secondAnswer.allowed == true, "the dry-run policy must not conflict: \(secondAnswer)")

            // A real policy is stored: the same dry-run request is now denied, naming the stored one.
            let dryAgain = try webhook.review(
                "/validate", AdmissionFixture.policyReview(first, dryRun: true, uid: "same"))
            #expect(dryAgain.allowed == false)
            #expect(dryAgain.message?.contains("conflicts with BackendTLSPolicy default/second") == true, "\(dryAgain)")
            let real = try webhook.review("/validate", AdmissionFixture.policyReview(first, uid: "same"))
            #expect(real.text == dryAgain.text, "dry run and real request get the same answer")
            #expect(real.statusCode == 403)

            // A dry-run DELETE of the stored policy does not remove it either.
            _ = try webhook.review(
                "/validate", AdmissionFixture.policyReview(second, operation: "DELETE", dryRun: true))
            let third = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(AdmissionFixture.policy("third", service: "shared", sectionName: "https"))
            )
            #expect(third.allowed == false, "still conflicts with default/second: \(third)")
            // A real DELETE does.
            _ = try webhook.review("/validate", AdmissionFixture.policyReview(second, operation: "DELETE"))
            let fourth = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(
                    AdmissionFixture.policy("fourth", service: "shared", sectionName: "https")))
            #expect(fourth.allowed == true, "\(fourth)")
        }

        @Test func deletingAReferencedCABundleIsAllowedWithAWarning() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let caPEM = try String(contentsOfFile: webhook.caFile, encoding: .utf8)
            let configMap = AdmissionFixture.configMap("api-ca", data: ["ca.crt": caPEM])
            let secret = AdmissionFixture.secret("api-ca-secret", data: ["ca.crt": caPEM])
            let unrelated = AdmissionFixture.configMap("unrelated", data: ["ca.crt": caPEM])
            for object in [configMap, secret, unrelated] {
                let answer = try webhook.review("/validate", AdmissionFixture.coreReview(object))
                #expect(answer.allowed == true, "\(answer)")
                #expect(answer.warnings.isEmpty, "\(answer)")
            }
            let policy = AdmissionFixture.policy(
                "api", service: "api", caConfigMap: "api-ca", caSecret: "api-ca-secret")
            #expect(try webhook.review("/validate", AdmissionFixture.policyReview(policy)).allowed == true)

            // DELETE carries the object in oldObject: allowed, with a warning naming the policy.
            for object in [configMap, secret] {
                let kind = object["kind"] as? String ?? ""
                for dryRun in [true, false] {
                    let answer = try webhook.review(
                        "/validate", AdmissionFixture.coreReview(object, operation: "DELETE", dryRun: dryRun))
                    #expect(answer.allowed == true, "\(kind): \(answer)")
                    #expect(
                        answer.warnings.contains { $0.contains("BackendTLSPolicy default/api") }, "\(kind): \(answer)")
                    expectWellFormedWarnings(answer)
                }
            }
            // An unreferenced ConfigMap goes quietly; the namespace controller is never even warned.
            let quiet = try webhook.review("/validate", AdmissionFixture.coreReview(unrelated, operation: "DELETE"))
            #expect(quiet.allowed == true)
            #expect(quiet.warnings.isEmpty, "\(quiet)")
            let controller = try webhook.review(
                "/validate",
                AdmissionFixture.coreReview(
                    configMap, operation: "DELETE", username: AdmissionFixture.namespaceController))
            #expect(controller.allowed == true)
            #expect(controller.warnings.isEmpty, "\(controller)")

            // Breaking the bundle of a referenced ConfigMap is denied, naming the data key and the policy.
            let broken = AdmissionFixture.configMap("api-ca", data: ["ca.crt": "not a certificate"])
            let update = try webhook.review(
                "/validate", AdmissionFixture.coreReview(broken, operation: "UPDATE", oldObject: configMap))
            #expect(update.allowed == false)
            #expect(update.statusCode == 403)
            #expect(update.message?.contains("data[ca.crt]") == true, "\(update)")
            #expect(update.message?.contains("BackendTLSPolicy default/api") == true, "\(update)")
        }

        @Test func v1beta1IsAnsweredInV1beta1() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let good = AdmissionFixture.policy("beta", service: "api", defaulted: false)
            let allowed = try webhook.review(
                "/mutate", AdmissionFixture.policyReview(good, apiVersion: AdmissionFixture.v1beta1, uid: "b1"))
            #expect(allowed.apiVersion == AdmissionFixture.v1beta1)
            #expect(allowed.kind == "AdmissionReview")
            #expect(allowed.uid == "b1")
            #expect(allowed.patchType == "JSONPatch")
            let denied = try webhook.review(
                "/validate",
                AdmissionFixture.policyReview(
                    AdmissionFixture.policy("beta-ip", service: "api", hostname: "192.168.0.1"),
                    apiVersion: AdmissionFixture.v1beta1, uid: "b2"), http: "--http2")
            #expect(denied.apiVersion == AdmissionFixture.v1beta1)
            #expect(denied.uid == "b2")
            #expect(denied.allowed == false)
            #expect(denied.statusCode == 403)
            let v1 = try webhook.review(
                "/validate", AdmissionFixture.policyReview(AdmissionFixture.policy("v1", service: "api"), uid: "b3"))
            #expect(v1.apiVersion == AdmissionFixture.v1)
        }

        @Test func unhandledKindsAndOperationsAreAllowedAndCounted() throws {
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let pod: [String: Any] = [
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "web", "namespace": "default"],
                "spec": ["containers": [["name": "web", "image": "nginx"]]],
            ]
            for (path, operation) in [("/validate", "CREATE"), ("/mutate", "CREATE"), ("/validate", "DELETE")] {
                let uid = "pod-\(path)-\(operation)"
                var review = AdmissionFixture.coreReview(pod, operation: operation)
                var request = review["request"] as? [String: Any] ?? [:]
                request["uid"] = uid
                review["request"] = request
                let answer = try webhook.review(path, review)
                #expect(answer.uid == uid)
                #expect(answer.allowed == true)
                #expect(answer.status == nil)
                #expect(answer.warnings.isEmpty)
                #expect(!answer.hasPatch)
            }
            // CONNECT on a policy is not ours to judge either.
            var connect = AdmissionFixture.policyReview(
                AdmissionFixture.policy("connect", service: "api", hostname: "10.0.0.9"))
            var request = connect["request"] as? [String: Any] ?? [:]
            request["operation"] = "CONNECT"
            connect["request"] = request
            let answer = try webhook.review("/validate", connect)
            #expect(answer.allowed == true, "\(answer)")

            let metrics = try webhook.metrics()
            #expect(
                metrics.value(
                    "backendtls_webhook_requests_total",
                    ["kind": "unhandled", "allowed": "true", "endpoint": "validate", "operation": "CREATE"]) == 1)
            #expect(metrics.value("backendtls_webhook_requests_total", ["kind": "unhandled"]) == 4)
            #expect(metrics.value("backendtls_webhook_requests_total", ["allowed": "false"]) == 0)
            #expect(metrics.contains("backendtls_webhook_request_duration_seconds_bucket"))
            #expect(
                metrics.value("backendtls_webhook_serving_certificate_expiry_timestamp_seconds")
                    > Date().timeIntervalSince1970)
        }
    }
}
