import BackendTLS
import Testing

private func key(_ section: String? = nil) -> PolicyTargetKey {
    PolicyTargetKey(namespace: "default", group: "", kind: "Service", name: "backend", sectionName: section)
}

struct PolicyIndexTests {
    @Test func policiesAreOrderedOldestFirstThenByName() {
        let newest = Fixtures.policy(name: "a", created: "2026-03-01T00:00:00Z", spec: Fixtures.spec())
        let oldest = Fixtures.policy(name: "z", created: "2026-01-01T00:00:00Z", spec: Fixtures.spec())
        let tieB = Fixtures.policy(name: "c", created: "2026-02-01T00:00:00Z", spec: Fixtures.spec())
        let tieA = Fixtures.policy(name: "b", created: "2026-02-01T00:00:00Z", spec: Fixtures.spec())
        let notCreated = Fixtures.policy(name: "0-new", spec: Fixtures.spec())
        let index = PolicyIndex(policies: [notCreated, newest, tieB, oldest, tieA])
        #expect(index.policies(for: key()).map(\.metadata.name) == ["z", "b", "c", "a", "0-new"])
        #expect(index.winner(for: key())?.metadata.name == "z")
        #expect(index.conflict(for: newest, on: key())?.metadata.name == "z")
        #expect(index.conflict(for: oldest, on: key()) == nil)
        #expect(index.displaced(by: tieA, on: key()).map(\.metadata.name) == ["c", "a", "0-new"])
    }

    @Test func wholeServiceAndSectionedPoliciesHaveDifferentKeys() {
        let whole = Fixtures.policy(name: "whole", spec: Fixtures.spec())
        let sectioned = Fixtures.policy(name: "sectioned", spec: Fixtures.spec(sectionName: "https"))
        let emptySection = Fixtures.policy(name: "empty", spec: Fixtures.spec(sectionName: ""))
        let index = PolicyIndex(policies: [whole, sectioned, emptySection])
        #expect(Set(index.keys) == [key(), key("https")])
        #expect(index.winner(for: key("https"))?.metadata.name == "sectioned")
        #expect(index.conflict(for: sectioned, on: key("https")) == nil)
        // An empty sectionName counts as absent (CEL semantics), so it shares the whole-Service key.
        #expect(index.policies(for: key()).map(\.metadata.name) == ["empty", "whole"])
    }

    @Test func targetKeyDescriptionNamesKindObjectAndSection() {
        #expect(key("https").description == #"Service default/backend sectionName "https""#)
        #expect(
            PolicyTargetKey(
                namespace: "ns", group: "multicluster.x-k8s.io", kind: "ServiceImport", name: "b", sectionName: nil
            )
            .description == "ServiceImport.multicluster.x-k8s.io ns/b (whole object)")
    }
}
