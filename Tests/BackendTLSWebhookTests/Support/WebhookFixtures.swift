import BackendTLS
import Foundation
import Logging

@testable import BackendTLSWebhook

/// Shared builders for the webhook's unit tests: a fixed clock, a development PKI, AdmissionReviews as JSON.
enum WebhookFixtures {
    /// Every unit test judges time against this instant (STYLE §9: no `Date()` in tests).
    static let now = RFC3339.parse("2026-06-01T00:00:00Z")!

    /// A CA valid around `now`, generated once per test process.
    static let caPEM: String = {
        let directory = temporaryDirectory("fixture-pki")
        let files = try! DevelopmentCertificate.generate(in: directory, now: now)
        return try! String(contentsOfFile: files.caCertificate, encoding: .utf8)
    }()

    static let quietLogger = Logger(label: "backendtls-webhook-tests") { _ in SwiftLogNoOpLogHandler() }

    /// A fresh directory under the system temporary directory; callers remove it.
    static func temporaryDirectory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("backendtls-\(name)-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func service(
        store: any WebhookStore = MemoryObjectStore(),
        configuration: ValidationConfiguration = ValidationConfiguration()
    ) -> AdmissionService {
        AdmissionService(
            configuration: configuration, store: store, metrics: WebhookMetrics(), logger: quietLogger,
            clock: { now })
    }

    static func policy(
        name: String = "policy",
        namespace: String? = "default",
        service: String = "backend",
        configMap: String = "backend-ca",
        hostname: String = "backend.example.com",
        created: Date? = nil
    ) -> JSONValue {
        var metadata: [(key: String, value: JSONValue)] = [("name", .string(name))]
        if let namespace { metadata.append(("namespace", .string(namespace))) }
        if let created { metadata.append(("creationTimestamp", .string(RFC3339.format(created)))) }
        return [
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "BackendTLSPolicy",
            "metadata": .object(JSONObject(metadata)),
            "spec": [
                "targetRefs": [["group": "", "kind": "Service", "name": .string(service)]],
                "validation": [
                    "caCertificateRefs": [["group": "", "kind": "ConfigMap", "name": .string(configMap)]],
                    "hostname": .string(hostname),
                ],
            ],
        ]
    }

    static func configMap(name: String = "backend-ca", namespace: String? = "default", caPEM: String? = nil)
        -> JSONValue
    {
        var metadata: [(key: String, value: JSONValue)] = [("name", .string(name))]
        if let namespace { metadata.append(("namespace", .string(namespace))) }
        return [
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": .object(JSONObject(metadata)),
            "data": ["ca.crt": .string(caPEM ?? Self.caPEM)],
        ]
    }

    /// An `admission.k8s.io/v1` AdmissionReview for `object` (or `oldObject` on DELETE).
    static func review(
        uid: String = "705ab4f5-6393-11e8-b7cc-42010a800002",
        operation: String = "CREATE",
        object: JSONValue?,
        oldObject: JSONValue? = nil,
        name: String? = nil,
        namespace: String = "default",
        dryRun: Bool = false,
        apiVersion: String = "admission.k8s.io/v1"
    ) -> JSONValue {
        let subject = object ?? oldObject ?? .null
        let kind = subject["kind"]?.stringValue ?? ""
        let group = kind == "BackendTLSPolicy" ? "gateway.networking.k8s.io" : ""
        return [
            "apiVersion": .string(apiVersion),
            "kind": "AdmissionReview",
            "request": [
                "uid": .string(uid),
                "kind": ["group": .string(group), "version": "v1", "kind": .string(kind)],
                "name": .string(name ?? subject["metadata"]?["name"]?.stringValue ?? ""),
                "namespace": .string(namespace),
                "operation": .string(operation),
                "userInfo": ["username": "alice", "groups": ["system:authenticated"]],
                "object": object ?? .null,
                "oldObject": oldObject ?? .null,
                "dryRun": .bool(dryRun),
            ],
        ]
    }

    static func request(
        operation: String = "CREATE",
        object: JSONValue?,
        oldObject: JSONValue? = nil,
        name: String? = nil,
        namespace: String = "default",
        dryRun: Bool = false
    ) throws -> AdmissionRequest {
        let json = review(
            operation: operation, object: object, oldObject: oldObject, name: name, namespace: namespace,
            dryRun: dryRun)
        return try AdmissionReview(json: json).request
    }

    static func bytes(_ value: JSONValue) -> [UInt8] { JSONSerializer.serializeBytes(value) }
}
