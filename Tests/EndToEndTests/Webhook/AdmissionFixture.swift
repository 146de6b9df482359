import Foundation

/// AdmissionReview request bodies as the API server sends them, built from plain dictionaries.
enum AdmissionFixture {
    static let v1 = "admission.k8s.io/v1"
    static let v1beta1 = "admission.k8s.io/v1beta1"
    static let gatewayGroup = "gateway.networking.k8s.io"
    static let namespaceController = "system:serviceaccount:kube-system:namespace-controller"

    static func data(_ value: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
    }

    /// An AdmissionReview for `object` (CREATE/UPDATE) or `oldObject` (DELETE).
    static func review(
        apiVersion: String = v1,
        uid: String = UUID().uuidString.lowercased(),
        group: String,
        version: String,
        kind: String,
        resource: String,
        name: String,
        namespace: String = "default",
        operation: String = "CREATE",
        object: Any? = nil,
        oldObject: Any? = nil,
        dryRun: Bool = false,
        username: String = "alice"
    ) -> [String: Any] {
        [
            "apiVersion": apiVersion,
            "kind": "AdmissionReview",
            "request": [
                "uid": uid,
                "kind": ["group": group, "version": version, "kind": kind],
                "resource": ["group": group, "version": version, "resource": resource],
                "requestKind": ["group": group, "version": version, "kind": kind],
                "name": name,
                "namespace": namespace,
                "operation": operation,
                "userInfo": ["username": username, "groups": ["system:authenticated"]],
                "object": object ?? NSNull(),
                "oldObject": oldObject ?? NSNull(),
                "dryRun": dryRun,
                "options": NSNull(),
            ] as [String: Any],
        ]
    }

    /// A BackendTLSPolicy for Service `service`, trusting `caConfigMap` (or the system CAs when `nil`).
    static func policy(
        _ name: String,
        service: String,
        sectionName: String? = nil,
        caConfigMap: String? = nil,
        caSecret: String? = nil,
        hostname: String = "backend.example.com",
        apiVersion: String = "gateway.networking.k8s.io/v1",
        namespace: String = "default",
        defaulted: Bool = true
    ) -> [String: Any] {
        var target: [String: Any] = ["kind": "Service", "name": service]
        if defaulted { target["group"] = "" }
        if let sectionName { target["sectionName"] = sectionName }
        var validation: [String: Any] = ["hostname": hostname]
        var refs: [[String: Any]] = []
        if let caConfigMap {
            refs.append(defaulted ? ["group": "", "kind": "ConfigMap", "name": caConfigMap] : ["name": caConfigMap])
        }
        if let caSecret { refs.append(["group": "", "kind": "Secret", "name": caSecret]) }
        if refs.isEmpty {
            validation["wellKnownCACertificates"] = "System"
        } else {
            validation["caCertificateRefs"] = refs
        }
        return [
            "apiVersion": apiVersion,
            "kind": "BackendTLSPolicy",
            "metadata": ["name": name, "namespace": namespace, "uid": UUID().uuidString.lowercased()],
            "spec": ["targetRefs": [target], "validation": validation],
        ]
    }

    /// The review with an annotation of `bytes` characters on its object: a large request that is still valid.
    static func padded(_ review: [String: Any], to bytes: Int) -> [String: Any] {
        var review = review
        var request = review["request"] as? [String: Any] ?? [:]
        var object = request["object"] as? [String: Any] ?? [:]
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        metadata["annotations"] = ["padding": String(repeating: "x", count: bytes)]
        object["metadata"] = metadata
        request["object"] = object
        review["request"] = request
        return review
    }

    static func policyReview(
        _ policy: [String: Any],
        operation: String = "CREATE",
        oldObject: Any? = nil,
        dryRun: Bool = false,
        apiVersion: String = v1,
        uid: String = UUID().uuidString.lowercased(),
        username: String = "alice"
    ) -> [String: Any] {
        let metadata = policy["metadata"] as? [String: Any] ?? [:]
        let version = (policy["apiVersion"] as? String)?.split(separator: "/").last.map(String.init) ?? "v1"
        return review(
            apiVersion: apiVersion, uid: uid, group: gatewayGroup, version: version, kind: "BackendTLSPolicy",
            resource: "backendtlspolicies", name: metadata["name"] as? String ?? "",
            namespace: metadata["namespace"] as? String ?? "default", operation: operation,
            object: operation == "DELETE" ? nil : policy,
            oldObject: oldObject ?? (operation == "DELETE" ? policy : nil),
            dryRun: dryRun, username: username)
    }

    static func configMap(_ name: String, data: [String: String], namespace: String = "default") -> [String: Any] {
        [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": name, "namespace": namespace, "uid": UUID().uuidString.lowercased()],
            "data": data,
        ]
    }

    static func secret(_ name: String, data: [String: String], namespace: String = "default") -> [String: Any] {
        [
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": ["name": name, "namespace": namespace, "uid": UUID().uuidString.lowercased()],
            "data": data.mapValues { Data($0.utf8).base64EncodedString() },
        ]
    }

    static func service(_ name: String, ports: [(name: String, port: Int)] = [("https", 443)]) -> [String: Any] {
        [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": name, "namespace": "default", "uid": UUID().uuidString.lowercased()],
            "spec": [
                "type": "ClusterIP",
                "ports": ports.map { ["name": $0.name, "port": $0.port, "protocol": "TCP"] as [String: Any] },
            ],
        ]
    }

    /// A review of a core/v1 object (ConfigMap, Secret, Service, Pod).
    static func coreReview(
        _ object: [String: Any],
        operation: String = "CREATE",
        oldObject: Any? = nil,
        dryRun: Bool = false,
        apiVersion: String = v1,
        username: String = "alice"
    ) -> [String: Any] {
        let kind = object["kind"] as? String ?? ""
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        return review(
            apiVersion: apiVersion, group: "", version: "v1", kind: kind, resource: kind.lowercased() + "s",
            name: metadata["name"] as? String ?? "", namespace: metadata["namespace"] as? String ?? "default",
            operation: operation, object: operation == "DELETE" ? nil : object,
            oldObject: oldObject ?? (operation == "DELETE" ? object : nil), dryRun: dryRun, username: username)
    }
}
