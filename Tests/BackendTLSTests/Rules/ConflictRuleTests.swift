import BackendTLS
import Testing

/// `ConflictRule` and `PolicyIndex` precedence: one policy per (target, sectionName); the older one wins.
struct ConflictRuleTests {
    private static let january = "2026-01-10T08:00:00Z"
    private static let february = "2026-02-01T00:00:00Z"

    private static func policy(
        _ name: String,
        namespace: String = "default",
        created: String? = nil,
        service: String = "tls-backend",
        sectionName: String? = nil
    ) -> BackendTLSPolicy {
        Fixtures.policy(
            name: name, namespace: namespace, created: created,
            spec: spec(service: service, sectionName: sectionName))
    }

    private static func spec(service: String = "tls-backend", sectionName: String? = nil) -> String {
        Fixtures.spec(
            service: service, sectionName: sectionName, caConfigMap: "tls-backend-ca",
            hostname: "tls-backend.example.com")
    }

    private static func store(_ policies: BackendTLSPolicy...) -> StoreSnapshot {
        var store = StoreSnapshot()
        for policy in policies { store.insert(policy) }
        return store
    }

    private func conflicts(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.filter { $0.reason == .conflicted }
    }

    // MARK: CREATE

    @Test func rejectsCreateWhenOlderPolicyHoldsTheTarget() throws {
        let existing = Self.policy("tls-backend-primary", created: Self.january)
        let diagnostics = Fixtures.validate(Self.policy("tls-backend-canary"), store: Self.store(existing))
        let finding = try #require(conflicts(diagnostics).first, "\(diagnostics.details)")
        #expect(conflicts(diagnostics).count == 1)
        #expect(finding.severity == .error)
        #expect(finding.field == "spec.targetRefs[0]")
        #expect(
            finding.message.hasPrefix(
                "conflicts with BackendTLSPolicy default/tls-backend-primary (created 2026-01-10T08:00:00Z), which targets the same Service default/tls-backend (whole object) and takes precedence"
            ), "\(finding.message)")
        #expect(finding.message.contains("Accepted=False/Conflicted"))
    }

    @Test func rejectsCreateOnSameSection() throws {
        let existing = Self.policy("tls-backend-primary", created: Self.january, sectionName: "https")
        let diagnostics = Fixtures.validate(
            Self.policy("tls-backend-canary", sectionName: "https"), store: Self.store(existing))
        let finding = try #require(conflicts(diagnostics).first, "\(diagnostics.details)")
        #expect(finding.field == "spec.targetRefs[0]")
        #expect(
            finding.message.contains(
                #"default/tls-backend-primary (created 2026-01-10T08:00:00Z), which targets the same Service default/tls-backend sectionName "https""#
            ))
    }

    @Test func acceptsCreateOnOtherSectionOfSameService() {
        let existing = Self.policy("tls-backend-primary", created: Self.january, sectionName: "https")
        let diagnostics = Fixtures.validate(
            Self.policy("tls-backend-metrics", sectionName: "metrics"), store: Self.store(existing))
        #expect(conflicts(diagnostics).isEmpty, "\(diagnostics.details)")
    }

    @Test(arguments: [("https", nil), (nil, "https")] as [(String?, String?)])
    func wholeServiceAndSectionedPoliciesDoNotConflict(_ existingSection: String?, _ newSection: String?) {
        let existing = Self.policy("tls-backend-primary", created: Self.january, sectionName: existingSection)
        let diagnostics = Fixtures.validate(
            Self.policy("tls-backend-canary", sectionName: newSection), store: Self.store(existing))
        #expect(conflicts(diagnostics).isEmpty, "\(diagnostics.details)")
    }

    @Test func acceptsCreateOnOtherService() {
        let existing = Self.policy("tls-backend-primary", created: Self.january)
        let diagnostics = Fixtures.validate(
            Self.policy("payments-backend", service: "payments"), store: Self.store(existing))
        #expect(conflicts(diagnostics).isEmpty, "\(diagnostics.details)")
    }

    @Test func acceptsCreateWhenOnlyPolicyOnTarget() {
        let diagnostics = Fixtures.validate(Self.policy("tls-backend"), store: Self.store())
        #expect(conflicts(diagnostics).isEmpty, "\(diagnostics.details)")
    }

    // MARK: Ties

    @Test func tieOnTimestampIsBrokenByNamespacedName() throws {
        let first = Self.policy("tls-backend-a", created: Self.january)
        let second = Self.policy("tls-backend-b", created: Self.january)

        let loser = Fixtures.validate(second, store: Self.store(first, second))
        let finding = try #require(conflicts(loser).first, "\(loser.details)")
        #expect(
            finding.message.contains(
                "conflicts with BackendTLSPolicy default/tls-backend-a (created 2026-01-10T08:00:00Z)"))

        let winner = Fixtures.validate(first, store: Self.store(first, second))
        #expect(conflicts(winner).isEmpty, "\(winner.details)")
    }

    // MARK: UPDATE

    @Test func rejectsUpdateThatTakesATargetFromANewerPolicy() throws {
        let before = Fixtures.policyJSON(
            name: "tls-backend-primary", created: Self.january, spec: Self.spec(service: "legacy-backend"))
        let after = Self.policy("tls-backend-primary", created: Self.january)
        let serving = Self.policy("tls-backend-canary", created: Self.february)
        let stored = try BackendTLSPolicy(json: before)
        let diagnostics = Fixtures.validate(
            after, store: Self.store(stored, serving), operation: .update, oldObject: before)
        let finding = try #require(conflicts(diagnostics).first, "\(diagnostics.details)")
        #expect(finding.severity == .error)
        #expect(finding.field == "spec.targetRefs[0]")
        #expect(
            finding.message.hasPrefix(
                "would take Service default/tls-backend (whole object) away from BackendTLSPolicy default/tls-backend-canary (created 2026-02-01T00:00:00Z), which serves it now"
            ), "\(finding.message)")
    }

    @Test func acceptsUpdateThatKeepsItsTarget() {
        let before = Fixtures.policyJSON(name: "tls-backend-primary", created: Self.january, spec: Self.spec())
        let after = Fixtures.policy(
            name: "tls-backend-primary", created: Self.january,
            spec: Fixtures.spec(
                service: "tls-backend", caConfigMap: "tls-backend-ca", hostname: "tls-backend.prod.example.com"))
        let loser = Self.policy("tls-backend-canary", created: Self.february)
        let diagnostics = Fixtures.validate(
            after, store: Self.store(Self.policy("tls-backend-primary", created: Self.january), loser),
            operation: .update, oldObject: before)
        #expect(conflicts(diagnostics).isEmpty, "\(diagnostics.details)")
    }

    @Test func updateOfTheLosingPolicyStillReportsTheWinner() throws {
        let winner = Self.policy("tls-backend-primary", created: Self.january)
        let loser = Self.policy("tls-backend-canary", created: Self.february)
        let diagnostics = Fixtures.validate(
            loser, store: Self.store(winner, loser), operation: .update,
            oldObject: Fixtures.policyJSON(name: "tls-backend-canary", created: Self.february, spec: Self.spec()))
        let finding = try #require(conflicts(diagnostics).first, "\(diagnostics.details)")
        #expect(finding.message.contains("conflicts with BackendTLSPolicy default/tls-backend-primary"))
    }

    // MARK: Precedence

    struct PrecedenceCase: Sendable, CustomTestStringConvertible {
        var lhs: (namespace: String, name: String, created: String?)
        var rhs: (namespace: String, name: String, created: String?)
        var lhsFirst: Bool
        var testDescription: String {
            "\(lhs.namespace)/\(lhs.name)@\(lhs.created ?? "new") vs \(rhs.namespace)/\(rhs.name)@\(rhs.created ?? "new")"
        }
    }

    @Test(arguments: [
        // "2021-07-15 01:02:03" beats "2021-07-15 01:02:04" (spec §8 rule 1).
        PrecedenceCase(
            lhs: ("foo", "bar", "2021-07-15T01:02:03Z"), rhs: ("foo", "baz", "2021-07-15T01:02:04Z"), lhsFirst: true),
        PrecedenceCase(
            lhs: ("foo", "bar", "2021-07-15T01:02:04Z"), rhs: ("foo", "baz", "2021-07-15T01:02:03Z"), lhsFirst: false),
        // Age beats name.
        PrecedenceCase(
            lhs: ("foo", "zzz", "2021-07-15T01:02:03Z"), rhs: ("foo", "aaa", "2021-07-15T01:02:04Z"), lhsFirst: true),
        // Ties: `foo/bar` beats `foo/baz` (rule 2).
        PrecedenceCase(
            lhs: ("foo", "bar", "2021-07-15T01:02:03Z"), rhs: ("foo", "baz", "2021-07-15T01:02:03Z"), lhsFirst: true),
        PrecedenceCase(
            lhs: ("foo", "baz", "2021-07-15T01:02:03Z"), rhs: ("foo", "bar", "2021-07-15T01:02:03Z"), lhsFirst: false),
        PrecedenceCase(
            lhs: ("default", "zzz", "2021-07-15T01:02:03Z"), rhs: ("staging", "aaa", "2021-07-15T01:02:03Z"),
            lhsFirst: true),
        // A policy not created yet (admission CREATE) is newer than every stored one.
        PrecedenceCase(lhs: ("foo", "aaa", nil), rhs: ("foo", "zzz", "2021-07-15T01:02:03Z"), lhsFirst: false),
        PrecedenceCase(lhs: ("foo", "zzz", "2021-07-15T01:02:03Z"), rhs: ("foo", "aaa", nil), lhsFirst: true),
        PrecedenceCase(lhs: ("foo", "bar", nil), rhs: ("foo", "baz", nil), lhsFirst: true),
        // Not strictly before itself.
        PrecedenceCase(
            lhs: ("foo", "bar", "2021-07-15T01:02:03Z"), rhs: ("foo", "bar", "2021-07-15T01:02:03Z"), lhsFirst: false),
    ])
    func precedenceOrder(_ testCase: PrecedenceCase) {
        let lhs = Self.policy(testCase.lhs.name, namespace: testCase.lhs.namespace, created: testCase.lhs.created)
        let rhs = Self.policy(testCase.rhs.name, namespace: testCase.rhs.namespace, created: testCase.rhs.created)
        #expect(PolicyIndex.precedes(lhs, rhs) == testCase.lhsFirst)
    }

    @Test func indexOrdersPoliciesOnATargetByPrecedence() throws {
        let newest = Self.policy("tls-backend-c", created: Self.february)
        let tiedSecond = Self.policy("tls-backend-b", created: Self.january)
        let tiedFirst = Self.policy("tls-backend-a", created: Self.january)
        let index = PolicyIndex(policies: [newest, tiedSecond, tiedFirst])
        let key = try #require(tiedFirst.targetKeys.first ?? nil)
        #expect(index.policies(for: key).map(\.metadata.name) == ["tls-backend-a", "tls-backend-b", "tls-backend-c"])
        #expect(index.winner(for: key)?.metadata.name == "tls-backend-a")
        #expect(index.conflict(for: newest, on: key)?.metadata.name == "tls-backend-a")
        #expect(index.conflict(for: tiedFirst, on: key) == nil)
        #expect(index.displaced(by: tiedFirst, on: key).map(\.metadata.name) == ["tls-backend-b", "tls-backend-c"])
    }
}
