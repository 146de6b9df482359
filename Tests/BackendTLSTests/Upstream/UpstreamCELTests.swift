import BackendTLS
import Testing

/// Every upstream CEL test case, run through the `upstream` rule set: same verdict, and every message
/// fragment upstream expects appears in our rendering of the API server's error.
struct UpstreamCELTests {
    /// The API server's whole-object error: `BackendTLSPolicy.gateway.networking.k8s.io "name" is invalid: [...]`.
    static func apiServerMessage(_ diagnostics: [Diagnostic], name: String) -> String {
        let errors = diagnostics.errors.map(\.detail)
        let body = errors.count == 1 ? errors[0] : "[\(errors.joined(separator: ", "))]"
        return "BackendTLSPolicy.gateway.networking.k8s.io \"\(name)\" is invalid: \(body)"
    }

    /// `celErrorStringMatches`: substring match, also accepting servers before 1.32 ("longer" for "more").
    static func matches(_ message: String, _ want: String, caseInsensitive: Bool = false) -> Bool {
        let haystack = caseInsensitive ? message.lowercased() : message
        let needle = caseInsensitive ? want.lowercased() : want
        return haystack.contains(needle) || haystack.contains(needle.replacing("longer", with: "more"))
    }

    static func release(for testCase: UpstreamCELCase) -> GatewayAPIRelease {
        testCase.source.contains("v1.4") ? .v1_4 : .v1_5
    }

    static func diagnostics(
        _ testCase: UpstreamCELCase,
        version: BackendTLSPolicyVersion,
        release: GatewayAPIRelease
    ) -> [Diagnostic] {
        let spec = testCase.specJSON.replacing("\n", with: "")
        let policy = Fixtures.policy(name: "foo", version: version, spec: spec)
        let configuration = ValidationConfiguration(ruleSet: .upstream, release: release)
        return Fixtures.validate(policy, configuration: configuration)
    }

    @Test(arguments: upstreamCELCases)
    func v1Case(_ testCase: UpstreamCELCase) {
        let diagnostics = Self.diagnostics(testCase, version: .v1, release: Self.release(for: testCase))
        let message = Self.apiServerMessage(diagnostics, name: "foo")
        if testCase.wantErrors.isEmpty {
            #expect(diagnostics.errors.isEmpty, "expected no errors, got \(message)")
        } else {
            #expect(!diagnostics.errors.isEmpty, "expected a denial")
            for want in testCase.wantErrors {
                #expect(Self.matches(message, want), "missing \(want.debugDescription) in \(message)")
            }
        }
    }

    /// v1alpha3 is served by the experimental CRD with the identical schema (spec §2): identical verdicts.
    @Test(arguments: upstreamCELCases)
    func v1alpha3CaseMatchesV1(_ testCase: UpstreamCELCase) {
        let release = Self.release(for: testCase)
        let v1 = Self.diagnostics(testCase, version: .v1, release: release).errors.map(\.detail)
        let v1alpha3 = Self.diagnostics(testCase, version: .v1alpha3, release: release).errors.map(\.detail)
        #expect(v1 == v1alpha3)
    }

    @Test(arguments: upstreamV1Alpha2CELCases)
    func v1alpha2Case(_ testCase: UpstreamCELCase) {
        let diagnostics = Self.diagnostics(testCase, version: .v1alpha2, release: .v1_5)
        let message = Self.apiServerMessage(diagnostics, name: "foo")
        if testCase.wantErrors.isEmpty {
            #expect(diagnostics.errors.isEmpty, "expected no errors, got \(message)")
        } else {
            #expect(!diagnostics.errors.isEmpty, "expected a denial")
            for want in testCase.wantErrors {
                #expect(
                    Self.matches(message, want, caseInsensitive: true), "missing \(want.debugDescription) in \(message)"
                )
            }
        }
    }

    /// The table must not silently shrink: these are the counts ported from upstream.
    @Test func portedEveryUpstreamCase() {
        #expect(upstreamCELCases.count >= 27)
        #expect(upstreamV1Alpha2CELCases.count >= 6)
    }
}
