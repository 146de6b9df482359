import BackendTLS
import TestCertificates
import Testing

private let linterCA = TestPKI.certificateAuthority(name: "Linter CA")

/// The objects around a policy, all without `metadata.namespace`, as manifests usually are.
private let surroundings: [JSONValue] = [
    Fixtures.json(
        #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"backend"},"spec":{"ports":[{"name":"https","port":443}]}}"#
    ),
    ConfigMap(metadata: ObjectMeta(name: "backend-ca"), data: ["ca.crt": linterCA.pem]).json,
]

/// A policy object without namespace, optionally with a creation timestamp.
private func policy(_ name: String, created: String? = nil, spec: String = Fixtures.spec()) -> JSONValue {
    let timestamp = created.map { #","creationTimestamp":"\#($0)""# } ?? ""
    return Fixtures.json(
        #"{"apiVersion":"gateway.networking.k8s.io/v1","kind":"BackendTLSPolicy","metadata":{"name":"\#(name)"\#(timestamp)},"spec":\#(spec)}"#
    )
}

private func lint(_ objects: [JSONValue], applyDefaults: Bool = true, defaultNamespace: String = "default")
    -> [LintResult]
{
    Linter(
        configuration: .init(), now: Fixtures.now, applyDefaults: applyDefaults, defaultNamespace: defaultNamespace
    )
    .lint(objects.enumerated().map { (object: $0.element, source: "input.yaml#\($0.offset)") })
}

private let undefaultedSpec = #"""
    {"targetRefs":[{"kind":"Service","name":"backend"}],
     "validation":{"hostname":"Backend.example.com","caCertificateRefs":[{"name":"backend-ca"}]}}
    """#

struct LinterTests {
    @Test(arguments: ["default", "team-a"])
    func objectsWithoutNamespaceGetTheDefault(_ namespace: String) throws {
        let results = lint(surroundings + [policy("tls")], defaultNamespace: namespace)
        // The Service is not checked; the ConfigMap and the policy are.
        #expect(results.map(\.object.kind) == ["ConfigMap", "BackendTLSPolicy"])
        let result = try #require(results.last)
        #expect(result.object == ObjectReference(kind: "BackendTLSPolicy", namespace: namespace, name: "tls"))
        #expect(result.source == "input.yaml#2")
        // The defaulted namespace also joins the policy to its Service and ConfigMap.
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.details)")
    }

    @Test func explicitNamespaceIsKept() throws {
        let object = Fixtures.policyJSON(name: "tls", namespace: "elsewhere", spec: Fixtures.spec())
        let result = try #require(lint(surroundings + [object]).last)
        #expect(result.object.namespace == "elsewhere")
        // Its ConfigMap is in "default", not "elsewhere": only a warning, it may be created next.
        #expect(!result.denied)
        #expect(result.diagnostics.contains(reason: .referenceNotFound, severity: .warning))
    }

    @Test func defaultsAreAppliedBeforeValidation() throws {
        let defaulted = try #require(lint(surroundings + [policy("tls", spec: undefaultedSpec)]).last)
        #expect(!defaulted.denied, "\(defaulted.diagnostics.details)")
        #expect(
            Set(defaulted.patch.map(\.path.description)) == [
                "/spec/targetRefs/0/group", "/spec/validation/caCertificateRefs/0/group",
                "/spec/validation/caCertificateRefs/0/kind", "/spec/validation/hostname",
            ])

        let raw = try #require(lint(surroundings + [policy("tls", spec: undefaultedSpec)], applyDefaults: false).last)
        #expect(raw.denied)
        #expect(raw.patch.isEmpty)
        #expect(
            raw.diagnostics.errors.contains { $0.field == "spec.targetRefs[0].group" && $0.message == "Required value" }
        )
    }

    @Test func conflictingPoliciesWithoutTimestampsDenyTheLaterName() throws {
        for order in [["a", "b"], ["b", "a"]] {
            let results = lint(surroundings + order.map { policy($0) })
            let policies = results.filter { $0.object.kind == "BackendTLSPolicy" }
            #expect(policies.count == 2)
            let denied = policies.filter(\.denied)
            #expect(denied.map(\.object.name) == ["b"], "order \(order)")
            #expect(denied.first?.diagnostics.contains(reason: .conflicted, field: "spec.targetRefs[0]") == true)
            #expect(denied.first?.diagnostics.errors.first?.message.contains("default/a") == true)
        }
    }

    @Test func conflictingPoliciesDenyTheNewerOne() throws {
        let results = lint(
            surroundings + [
                policy("a-newer", created: "2026-05-01T00:00:00Z"), policy("z-older", created: "2026-01-01T00:00:00Z"),
            ])
        let denied = results.filter(\.denied)
        #expect(denied.map(\.object.name) == ["a-newer"])
        #expect(denied.first?.diagnostics.errors.count == 1)
        #expect(denied.first?.diagnostics.errors.first?.reason == .conflicted)
    }

    @Test func wholeServiceAndSectionedPoliciesDoNotConflict() {
        let results = lint(
            surroundings + [policy("whole"), policy("sectioned", spec: Fixtures.spec(sectionName: "https"))])
        #expect(results.filter(\.denied).isEmpty, "\(results.flatMap(\.diagnostics).details)")
    }

    @Test func unreadableObjectIsOneMalformedResult() throws {
        let broken = Fixtures.json(
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad"},"binaryData":{"ca.crt":"%%%"}}"#)
        let results = lint([broken])
        let result = try #require(results.first)
        #expect(results.count == 1)
        #expect(result.denied)
        #expect(result.object == ObjectReference(kind: "ConfigMap", namespace: "default", name: "bad"))
        #expect(result.diagnostics.first?.reason == .malformedObject)
    }
}
