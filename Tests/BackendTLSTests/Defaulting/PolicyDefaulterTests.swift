import BackendTLS
import Testing

/// One defaulting case: a policy object and the exact operations the defaulter must produce for it.
private struct DefaultingCase: Sendable, CustomTestStringConvertible {
    let name: String
    let version: BackendTLSPolicyVersion
    let spec: String
    let expected: [JSONPatchOperation]

    var testDescription: String { name }

    var object: JSONValue { Fixtures.policyJSON(name: "x", version: version, spec: spec) }
}

private let defaultingCases: [DefaultingCase] = [
    DefaultingCase(
        name: "v1 targetRefs[0] without group gets group \"\"",
        version: .v1,
        spec: #"""
            {"targetRefs":[{"kind":"Service","name":"backend"}],
             "validation":{"hostname":"backend.example.com","wellKnownCACertificates":"System"}}
            """#,
        expected: [JSONPatchOperation(op: .add, path: ["spec", "targetRefs", "0", "group"], value: "")]
    ),
    DefaultingCase(
        name: "v1 only the second target lacks group",
        version: .v1,
        spec: #"""
            {"targetRefs":[{"group":"","kind":"Service","name":"a"},{"kind":"Service","name":"b"}],
             "validation":{"hostname":"backend.example.com","wellKnownCACertificates":"System"}}
            """#,
        expected: [JSONPatchOperation(op: .add, path: ["spec", "targetRefs", "1", "group"], value: "")]
    ),
    DefaultingCase(
        name: "v1 caCertificateRefs[0] without group and kind gets \"\" and ConfigMap",
        version: .v1,
        spec: #"""
            {"targetRefs":[{"group":"","kind":"Service","name":"backend"}],
             "validation":{"hostname":"backend.example.com","caCertificateRefs":[{"name":"ca"}]}}
            """#,
        expected: [
            JSONPatchOperation(
                op: .add, path: ["spec", "validation", "caCertificateRefs", "0", "group"], value: ""),
            JSONPatchOperation(
                op: .add, path: ["spec", "validation", "caCertificateRefs", "0", "kind"], value: "ConfigMap"),
        ]
    ),
    DefaultingCase(
        name: "v1 caCertificateRefs[1] keeps its Secret kind, only group is added",
        version: .v1,
        spec: #"""
            {"targetRefs":[{"group":"","kind":"Service","name":"backend"}],
             "validation":{"hostname":"backend.example.com",
               "caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"a"},{"kind":"Secret","name":"b"}]}}
            """#,
        expected: [
            JSONPatchOperation(op: .add, path: ["spec", "validation", "caCertificateRefs", "1", "group"], value: "")
        ]
    ),
    DefaultingCase(
        name: "v1 null group and null kind are replaced, not added",
        version: .v1,
        spec: #"""
            {"targetRefs":[{"group":null,"kind":"Service","name":"backend"}],
             "validation":{"hostname":"backend.example.com","caCertificateRefs":[{"group":null,"kind":null,"name":"ca"}]}}
            """#,
        expected: [
            JSONPatchOperation(op: .replace, path: ["spec", "targetRefs", "0", "group"], value: ""),
            JSONPatchOperation(
                op: .replace, path: ["spec", "validation", "caCertificateRefs", "0", "group"], value: ""),
            JSONPatchOperation(
                op: .replace, path: ["spec", "validation", "caCertificateRefs", "0", "kind"], value: "ConfigMap"),
        ]
    ),
    DefaultingCase(
        name: "v1 upper-case hostname is replaced by its lower-case form",
        version: .v1,
        spec: #"""
            {"targetRefs":[{"group":"","kind":"Service","name":"backend"}],
             "validation":{"hostname":"Backend.Example.COM","wellKnownCACertificates":"System"}}
            """#,
        expected: [
            JSONPatchOperation(op: .replace, path: ["spec", "validation", "hostname"], value: "backend.example.com")
        ]
    ),
    DefaultingCase(
        name: "v1alpha3 uses the same paths as v1",
        version: .v1alpha3,
        spec: #"""
            {"targetRefs":[{"kind":"Service","name":"backend"}],
             "validation":{"hostname":"API.example.com","caCertificateRefs":[{"group":"","name":"ca"}]}}
            """#,
        expected: [
            JSONPatchOperation(op: .add, path: ["spec", "targetRefs", "0", "group"], value: ""),
            JSONPatchOperation(
                op: .add, path: ["spec", "validation", "caCertificateRefs", "0", "kind"], value: "ConfigMap"),
            JSONPatchOperation(op: .replace, path: ["spec", "validation", "hostname"], value: "api.example.com"),
        ]
    ),
    DefaultingCase(
        name: "v1alpha2 uses spec.targetRef and spec.tls paths",
        version: .v1alpha2,
        spec: #"""
            {"targetRef":{"kind":"Service","name":"backend"},
             "tls":{"hostname":"Backend.Example.com","caCertRefs":[{"group":"","name":"ca"}]}}
            """#,
        expected: [
            JSONPatchOperation(op: .add, path: ["spec", "targetRef", "group"], value: ""),
            JSONPatchOperation(op: .add, path: ["spec", "tls", "caCertRefs", "0", "kind"], value: "ConfigMap"),
            JSONPatchOperation(op: .replace, path: ["spec", "tls", "hostname"], value: "backend.example.com"),
        ]
    ),
]

struct PolicyDefaulterTests {
    @Test(arguments: defaultingCases)
    fileprivate func producesExactOperations(_ testCase: DefaultingCase) {
        #expect(PolicyDefaulter.operations(for: testCase.object) == testCase.expected)
    }

    @Test(arguments: defaultingCases)
    fileprivate func defaultingIsIdempotent(_ testCase: DefaultingCase) throws {
        let operations = PolicyDefaulter.operations(for: testCase.object)
        try #require(!operations.isEmpty)
        let defaulted = try JSONPatch.apply(operations, to: testCase.object)
        #expect(defaulted != testCase.object)
        #expect(PolicyDefaulter.operations(for: defaulted) == [])
    }

    @Test func appliedPatchSetsTheDefaultValues() throws {
        let object = Fixtures.policyJSON(
            spec: #"""
                {"targetRefs":[{"kind":"Service","name":"backend"}],
                 "validation":{"hostname":"Backend.example.com","caCertificateRefs":[{"group":null,"name":"ca"}]}}
                """#)
        let defaulted = try JSONPatch.apply(PolicyDefaulter.operations(for: object), to: object)
        let target = try #require(defaulted["spec"]?["targetRefs"]?.arrayValue?.first)
        #expect(target["group"] == "")
        #expect(target["kind"] == "Service")
        let ref = try #require(defaulted["spec"]?["validation"]?["caCertificateRefs"]?.arrayValue?.first)
        #expect(ref["group"] == "")
        #expect(ref["kind"] == "ConfigMap")
        #expect(ref["name"] == "ca")
        #expect(defaulted["spec"]?["validation"]?["hostname"] == "backend.example.com")
    }

    @Test(arguments: BackendTLSPolicyVersion.allCases)
    func alreadyCompleteObjectNeedsNoOperations(_ version: BackendTLSPolicyVersion) {
        let spec =
            version == .v1alpha2
            ? #"""
            {"targetRef":{"group":"","kind":"Service","name":"backend"},
             "tls":{"hostname":"backend.example.com","caCertRefs":[{"group":"","kind":"ConfigMap","name":"ca"}]}}
            """#
            : Fixtures.spec()
        #expect(PolicyDefaulter.operations(for: Fixtures.policyJSON(version: version, spec: spec)) == [])
    }

    @Test func nonPolicyObjectsAndUnknownVersionsAreLeftAlone() {
        let unknownVersion = Fixtures.json(
            #"{"apiVersion":"gateway.networking.k8s.io/v9","kind":"BackendTLSPolicy","metadata":{"name":"x"},"spec":{"targetRefs":[{"kind":"Service","name":"a"}]}}"#
        )
        #expect(PolicyDefaulter.operations(for: unknownVersion) == [])
        #expect(PolicyDefaulter.operations(for: Fixtures.json(#"{"apiVersion":"v1","kind":"ConfigMap"}"#)) == [])
    }

    @Test func serializedPatchIsRFC6902JSON() throws {
        let object = Fixtures.policyJSON(
            spec:
                #"{"targetRefs":[{"kind":"Service","name":"b"}],"validation":{"hostname":"b.example.com","wellKnownCACertificates":"System"}}"#
        )
        let text = JSONPatch.serialize(PolicyDefaulter.operations(for: object))
        #expect(
            try JSONParser.parse(text) == Fixtures.json(#"[{"op":"add","path":"/spec/targetRefs/0/group","value":""}]"#)
        )
    }

    @Test(arguments: [BackendTLSPolicyVersion.v1, .v1alpha2])
    func defaultingTurnsRequiredValueErrorsIntoAValidPolicy(_ version: BackendTLSPolicyVersion) throws {
        let spec =
            version == .v1alpha2
            ? #"""
            {"targetRef":{"kind":"Service","name":"backend"},
             "tls":{"hostname":"Backend.example.com","caCertRefs":[{"name":"ca"}]}}
            """#
            : #"""
            {"targetRefs":[{"kind":"Service","name":"backend"}],
             "validation":{"hostname":"Backend.example.com","caCertificateRefs":[{"name":"ca"}]}}
            """#
        let object = Fixtures.policyJSON(version: version, spec: spec)
        let upstream = PolicyValidator(ruleSet: .upstream, enforcement: .deny)
        let context = Fixtures.context()

        let before = upstream.validate(object, in: context)
        let paths = version.paths
        #expect(before.errors.contains { $0.field == "\(paths.targetRef(0)).group" && $0.message == "Required value" })
        #expect(
            before.errors.contains {
                $0.field == "\(paths.caCertificateRef(0)).group" && $0.message == "Required value"
            })
        #expect(
            before.errors.contains { $0.field == "\(paths.caCertificateRef(0)).kind" && $0.message == "Required value" }
        )

        let defaulted = try JSONPatch.apply(PolicyDefaulter.operations(for: object), to: object)
        let after = upstream.validate(defaulted, in: context)
        #expect(after.errors.isEmpty, "\(after.details)")
    }
}
