import BackendTLS
import Testing

/// Our own edge cases around the CRD's limits: each limit at n (allowed) and n+1 (denied, with the message).
struct SchemaLimitTests {
    static let upstream = ValidationConfiguration(ruleSet: .upstream)

    static func errors(_ spec: String, version: BackendTLSPolicyVersion = .v1, release: GatewayAPIRelease = .v1_5)
        -> [String]
    {
        var configuration = upstream
        configuration.release = release
        return Fixtures.validate(Fixtures.policy(version: version, spec: spec), configuration: configuration).errors
            .map(\.detail)
    }

    static func targets(_ count: Int) -> String {
        (0..<count).map { #"{"group":"","kind":"Service","name":"svc\#($0)"}"# }.joined(separator: ",")
    }

    static func spec(
        targetRefs: String = targets(1),
        validation: String = #""hostname":"a.example.com","wellKnownCACertificates":"System""#, options: String? = nil
    ) -> String {
        #"{"targetRefs":[\#(targetRefs)],"validation":{\#(validation)}\#(options.map { #","options":\#($0)"# } ?? "")}"#
    }

    @Test func targetRefsAtMostSixteen() {
        #expect(Self.errors(Self.spec(targetRefs: Self.targets(16))).isEmpty)
        #expect(
            Self.errors(Self.spec(targetRefs: Self.targets(17))).contains(
                "spec.targetRefs: Too many: 17: must have at most 16 items"))
    }

    @Test func targetRefsAtLeastOneIsNonBlocking() {
        let errors = Self.errors(Self.spec(targetRefs: ""))
        #expect(
            errors.contains("spec.targetRefs: Invalid value: 0: spec.targetRefs in body should have at least 1 items"))
        #expect(!errors.contains { $0.contains("some validation rules were not checked") })
    }

    @Test func caCertificateRefsAtMostEight() {
        let refs = { (count: Int) in
            (0..<count).map { #"{"group":"","kind":"ConfigMap","name":"ca\#($0)"}"# }.joined(separator: ",")
        }
        #expect(
            Self.errors(Self.spec(validation: #""hostname":"a.example.com","caCertificateRefs":[\#(refs(8))]"#)).isEmpty
        )
        #expect(
            Self.errors(Self.spec(validation: #""hostname":"a.example.com","caCertificateRefs":[\#(refs(9))]"#))
                .contains("spec.validation.caCertificateRefs: Too many: 9: must have at most 8 items")
        )
    }

    @Test func subjectAltNamesAtMostFive() {
        let sans = { (count: Int) in
            (0..<count).map { #"{"type":"Hostname","hostname":"h\#($0).example.com"}"# }.joined(separator: ",")
        }
        let base = #""hostname":"a.example.com","wellKnownCACertificates":"System","subjectAltNames":"#
        #expect(Self.errors(Self.spec(validation: base + "[\(sans(5))]")).isEmpty)
        #expect(
            Self.errors(Self.spec(validation: base + "[\(sans(6))]"))
                .contains("spec.validation.subjectAltNames: Too many: 6: must have at most 5 items")
        )
    }

    @Test func optionsAtMostSixteenKeysAndValuesAtMost4096() {
        let options = { (count: Int) in
            "{" + (0..<count).map { #""example.com/k\#($0)":"v""# }.joined(separator: ",") + "}"
        }
        #expect(Self.errors(Self.spec(options: options(16))).isEmpty)
        #expect(
            Self.errors(Self.spec(options: options(17))).contains(
                "spec.options: Too many: 17: must have at most 16 items"))
        let long = String(repeating: "x", count: 4096)
        #expect(Self.errors(Self.spec(options: #"{"example.com/k":"\#(long)"}"#)).isEmpty)
        #expect(
            Self.errors(Self.spec(options: #"{"example.com/k":"\#(long)x"}"#))
                .contains("spec.options.example.com/k: Too long: may not be more than 4096 bytes")
        )
    }

    @Test func kindAtMostSixtyThree() {
        let kind = "K" + String(repeating: "a", count: 62)
        #expect(Self.errors(Self.spec(targetRefs: #"{"group":"","kind":"\#(kind)","name":"x"}"#)).isEmpty)
        #expect(
            Self.errors(Self.spec(targetRefs: #"{"group":"","kind":"\#(kind)a","name":"x"}"#))
                .contains("spec.targetRefs[0].kind: Too long: may not be more than 63 bytes")
        )
    }

    @Test func hostnameAtMost253CodePoints() {
        let label = String(repeating: "a", count: 63)
        let host253 = [label, label, label, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(host253.count == 253)
        #expect(
            Self.errors(Self.spec(validation: #""hostname":"\#(host253)","wellKnownCACertificates":"System""#)).isEmpty)
        let errors = Self.errors(
            Self.spec(validation: #""hostname":"\#(host253)b","wellKnownCACertificates":"System""#))
        #expect(errors.contains("spec.validation.hostname: Too long: may not be more than 253 bytes"))
        // TooLong blocks CEL: the API server appends its "not checked" line.
        #expect(
            errors.contains { $0.hasPrefix("<nil>: Invalid value: \"null\": some validation rules were not checked") })
    }

    /// Lengths are code points, not bytes: 253 two-byte characters are not "too long" (but fail the pattern).
    @Test func lengthsCountCodePoints() {
        let accented = String(repeating: "é", count: 253)
        let errors = Self.errors(
            Self.spec(validation: #""hostname":"\#(accented)","wellKnownCACertificates":"System""#))
        #expect(!errors.contains { $0.contains("Too long") })
        #expect(errors.contains { $0.contains("spec.validation.hostname in body should match") })
        let tooLong = Self.errors(
            Self.spec(validation: #""hostname":"\#(accented)é","wellKnownCACertificates":"System""#))
        #expect(tooLong.contains("spec.validation.hostname: Too long: may not be more than 253 bytes"))
        // One error per string node: TooLong stops before the pattern check.
        #expect(!tooLong.contains { $0.contains("should match") })
    }

    /// RE2's `$` does not match before a final newline (ICU's would).
    @Test func trailingNewlineFailsPatterns() {
        let errors = Self.errors(
            Self.spec(validation: #""hostname":"a.example.com\n","wellKnownCACertificates":"System""#))
        #expect(
            errors.contains {
                $0.hasPrefix(
                    #"spec.validation.hostname: Invalid value: "a.example.com\n": spec.validation.hostname in body should match"#
                )
            })
        let section = Self.errors(
            Self.spec(targetRefs: #"{"group":"","kind":"Service","name":"x","sectionName":"https\n"}"#))
        #expect(section.contains { $0.contains("spec.targetRefs[0].sectionName in body should match") })
    }

    /// `hostname: ""` is minLength (non-blocking): CEL still runs. Omitting it is Required (blocking): CEL does not.
    @Test func emptyVersusMissingHostname() {
        let empty = Self.errors(Self.spec(validation: #""hostname":"""#))
        #expect(
            empty.contains(
                #"spec.validation.hostname: Invalid value: "": spec.validation.hostname in body should be at least 1 chars long"#
            ))
        #expect(
            empty.contains(
                #"spec.validation: Invalid value: "object": must specify either CACertificateRefs or WellKnownCACertificates"#
            ))
        let missing = Self.errors(Self.spec(validation: #""caCertificateRefs":[]"#))
        #expect(missing.contains("spec.validation.hostname: Required value"))
        #expect(!missing.contains { $0.contains("must specify either") })
        #expect(
            missing.contains { $0.contains("some validation rules were not checked because the object was invalid") })
    }

    @Test func wellKnownEnumInV14PatternFromV15() {
        let custom = Self.spec(
            validation: #""hostname":"a.example.com","wellKnownCACertificates":"mycompany.com/my-cas""#)
        #expect(Self.errors(custom, release: .v1_5).isEmpty)
        #expect(
            Self.errors(custom, release: .v1_4)
                .contains(
                    #"spec.validation.wellKnownCACertificates: Unsupported value: "mycompany.com/my-cas": supported values: "System""#
                )
        )
        let lower = Self.spec(validation: #""hostname":"a.example.com","wellKnownCACertificates":"system""#)
        #expect(
            Self.errors(lower, release: .v1_5).contains { $0.contains("wellKnownCACertificates in body should match") })
        #expect(Self.errors(lower, release: .v1_4).contains { $0.contains("Unsupported value: \"system\"") })
        let singleLabelPrefix = Self.spec(
            validation: #""hostname":"a.example.com","wellKnownCACertificates":"mycompany/ca-bundle""#)
        #expect(Self.errors(singleLabelPrefix, release: .v1_5).isEmpty)
    }

    @Test func wrongTypesAreTypeInvalidAndBlockCEL() {
        let errors = Self.errors(#"{"targetRefs":"svc","validation":{"hostname":7}}"#)
        #expect(
            errors.contains(
                #"spec.targetRefs: Invalid value: "string": spec.targetRefs in body must be of type array: "string""#))
        #expect(
            errors.contains(
                #"spec.validation.hostname: Invalid value: "integer": spec.validation.hostname in body must be of type string: "integer""#
            ))
        #expect(errors.contains { $0.contains("some validation rules were not checked") })
        let nullItem = Self.errors(
            #"{"targetRefs":[null],"validation":{"hostname":"a.b","wellKnownCACertificates":"System"}}"#)
        #expect(
            nullItem.contains(
                #"spec.targetRefs[0]: Invalid value: "null": spec.targetRefs[0] in body must be of type object: "null""#
            ))
    }

    /// Null members are pruned before validation: `group: null` is Required, like an absent group.
    @Test func nullMembersCountAsAbsent() {
        let errors = Self.errors(Self.spec(targetRefs: #"{"group":null,"kind":"Service","name":"x"}"#))
        #expect(errors.contains("spec.targetRefs[0].group: Required value"))
    }

    @Test func unknownFieldsFailLikeStrictFieldValidation() {
        let errors = Self.errors(
            #"{"targetRefs":[{"group":"","kind":"Service","name":"x","port":443}],"validation":{"hostname":"a.b","wellKnownCACertificates":"System","insecureSkipVerify":true},"foo":1}"#
        )
        #expect(errors.contains(#"unknown field "spec.targetRefs[0].port""#))
        #expect(errors.contains(#"unknown field "spec.validation.insecureSkipVerify""#))
        #expect(errors.contains(#"unknown field "spec.foo""#))
        var pruning = Self.upstream
        pruning.rejectUnknownFields = false
        let pruned = Fixtures.validate(
            Fixtures.policy(
                spec:
                    #"{"targetRefs":[{"group":"","kind":"Service","name":"x"}],"validation":{"hostname":"a.b","wellKnownCACertificates":"System"},"foo":1}"#
            ),
            configuration: pruning
        )
        #expect(pruned.errors.isEmpty)
    }

    @Test func v1alpha2UsesItsOwnPaths() {
        let errors = Self.errors(
            #"{"targetRef":{"group":"","kind":"Service","name":"x","namespace":"Bad_NS"},"tls":{"hostname":""}}"#,
            version: .v1alpha2)
        #expect(
            errors.contains {
                $0.hasPrefix(
                    #"spec.targetRef.namespace: Invalid value: "Bad_NS": spec.targetRef.namespace in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"#
                )
            })
        #expect(
            errors.contains(
                #"spec.tls.hostname: Invalid value: "": spec.tls.hostname in body should be at least 1 chars long"#))
        #expect(
            errors.contains(#"spec.tls: Invalid value: "object": must specify either CACertRefs or WellKnownCACerts"#))
    }

    @Test func specIsRequired() {
        let object = Fixtures.json(
            #"{"apiVersion":"gateway.networking.k8s.io/v1","kind":"BackendTLSPolicy","metadata":{"name":"x"}}"#)
        let diagnostics = PolicyValidator(configuration: Self.upstream).validate(
            object, in: Fixtures.context(configuration: Self.upstream))
        #expect(diagnostics.errors.map(\.detail) == ["spec: Required value"])
    }

    @Test func v1alpha3CarriesDeprecationWarning() {
        let diagnostics = Fixtures.validate(
            Fixtures.policy(version: .v1alpha3, spec: Self.spec()), configuration: Self.upstream)
        #expect(diagnostics.errors.isEmpty)
        #expect(
            diagnostics.warnings.contains {
                $0.message.hasPrefix("The v1alpha3 version of BackendTLSPolicy has been deprecated")
            })
    }
}
