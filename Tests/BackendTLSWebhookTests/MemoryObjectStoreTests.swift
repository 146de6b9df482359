import BackendTLS
import Foundation
import Testing

@testable import BackendTLSWebhook

/// The embedded store learns the cluster from the requests the webhook admits.
struct MemoryObjectStoreTests {
    typealias Fixtures = WebhookFixtures

    static let later = Fixtures.now.addingTimeInterval(3600)

    static func policy(_ store: MemoryObjectStore, _ name: String, namespace: String = "default") -> BackendTLSPolicy? {
        store.snapshot().store.policies(inNamespace: namespace).first { $0.metadata.name == name }
    }

    @Test func learnsACreatedPolicyStampedWithCreationTimestamp() throws {
        let store = MemoryObjectStore()
        store.observe(admitted: try Fixtures.request(object: Fixtures.policy(name: "a")), now: Fixtures.now)
        let learned = try #require(Self.policy(store, "a"))
        #expect(learned.metadata.creationTimestamp == Fixtures.now)
        #expect(learned.metadata.namespace == "default")
        #expect(learned.validation.hostname == "backend.example.com")
        #expect(store.isSynced)
    }

    @Test func takesTheNamespaceFromTheRequestWhenTheObjectHasNone() throws {
        let store = MemoryObjectStore()
        let request = try Fixtures.request(object: Fixtures.policy(name: "a", namespace: nil), namespace: "team-a")
        store.observe(admitted: request, now: Fixtures.now)
        #expect(Self.policy(store, "a", namespace: "team-a")?.metadata.namespace == "team-a")
        #expect(Self.policy(store, "a") == nil)
    }

    @Test func updateKeepsTheFirstCreationTimestamp() throws {
        let store = MemoryObjectStore()
        store.observe(admitted: try Fixtures.request(object: Fixtures.policy(name: "a")), now: Fixtures.now)
        let updated = Fixtures.policy(name: "a", hostname: "other.example.com")
        let request = try Fixtures.request(operation: "UPDATE", object: updated, oldObject: Fixtures.policy(name: "a"))
        store.observe(admitted: request, now: Self.later)
        let learned = try #require(Self.policy(store, "a"))
        #expect(learned.metadata.creationTimestamp == Fixtures.now)
        #expect(learned.validation.hostname == "other.example.com")
        #expect(store.snapshot().store.allPolicies.count == 1)
    }

    @Test func deleteForgetsThePolicyAndItsIndexEntry() throws {
        let store = MemoryObjectStore()
        store.observe(admitted: try Fixtures.request(object: Fixtures.policy(name: "a")), now: Fixtures.now)
        #expect(!store.snapshot().index.keys.isEmpty)
        let delete = try Fixtures.request(operation: "DELETE", object: nil, oldObject: Fixtures.policy(name: "a"))
        store.observe(admitted: delete, now: Self.later)
        #expect(Self.policy(store, "a") == nil)
        #expect(store.snapshot().index.keys.isEmpty)
    }

    @Test func dryRunRequestsChangeNothing() throws {
        let store = MemoryObjectStore()
        store.observe(
            admitted: try Fixtures.request(object: Fixtures.policy(name: "a"), dryRun: true), now: Fixtures.now)
        store.observe(admitted: try Fixtures.request(object: Fixtures.configMap(), dryRun: true), now: Fixtures.now)
        #expect(store.snapshot().store.allPolicies.isEmpty)
        #expect(store.snapshot().store.allConfigMaps.isEmpty)
        store.observe(admitted: try Fixtures.request(object: Fixtures.policy(name: "a")), now: Fixtures.now)
        let delete = try Fixtures.request(
            operation: "DELETE", object: nil, oldObject: Fixtures.policy(name: "a"), dryRun: true)
        store.observe(admitted: delete, now: Self.later)
        #expect(Self.policy(store, "a") != nil)
    }

    @Test func learnsAndForgetsConfigMaps() throws {
        let store = MemoryObjectStore()
        let configMap = Fixtures.configMap(name: "ca", namespace: nil)
        store.observe(admitted: try Fixtures.request(object: configMap, namespace: "team-a"), now: Fixtures.now)
        let learned = try #require(store.snapshot().store.configMap(namespace: "team-a", name: "ca"))
        #expect(learned.data["ca.crt"] == Fixtures.caPEM)
        let delete = try Fixtures.request(operation: "DELETE", object: nil, oldObject: configMap, namespace: "team-a")
        store.observe(admitted: delete, now: Self.later)
        #expect(store.snapshot().store.configMap(namespace: "team-a", name: "ca") == nil)
    }

    @Test func learnsAndForgetsSecrets() throws {
        let store = MemoryObjectStore()
        let secret: JSONValue = [
            "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "ca", "namespace": "default"],
            "type": "Opaque", "data": ["ca.crt": .string(Data(Fixtures.caPEM.utf8).base64EncodedString())],
        ]
        store.observe(admitted: try Fixtures.request(object: secret), now: Fixtures.now)
        #expect(store.snapshot().store.secret(namespace: "default", name: "ca") != nil)
        store.observe(
            admitted: try Fixtures.request(operation: "DELETE", object: nil, oldObject: secret), now: Self.later)
        #expect(store.snapshot().store.secret(namespace: "default", name: "ca") == nil)
    }

    @Test func ignoresKindsItDoesNotKeep() throws {
        let store = MemoryObjectStore()
        let deployment: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "d"]]
        store.observe(admitted: try Fixtures.request(object: deployment), now: Fixtures.now)
        let snapshot = store.snapshot().store
        #expect(snapshot.allPolicies.isEmpty && snapshot.allConfigMaps.isEmpty && snapshot.allServices.isEmpty)
    }

    @Test func rebuildsTheIndexSoASecondPolicyOnTheSameTargetConflicts() throws {
        let store = MemoryObjectStore()
        store.observe(admitted: try Fixtures.request(object: Fixtures.configMap()), now: Fixtures.now)
        store.observe(admitted: try Fixtures.request(object: Fixtures.policy(name: "first")), now: Fixtures.now)
        let key = try #require(store.snapshot().index.keys.first)
        let second = try BackendTLSPolicy(json: Fixtures.policy(name: "second"))
        #expect(store.snapshot().index.conflict(for: second, on: key)?.metadata.name == "first")
    }

    @Test func admittedPoliciesMakeLaterConflictingOnesDenied() throws {
        let store = MemoryObjectStore()
        let service = Fixtures.service(store: store)
        func validate(_ review: JSONValue) throws -> JSONValue {
            guard case .now(let answer) = service.respond(endpoint: .validate, body: Fixtures.bytes(review)) else {
                Issue.record("the memory store never defers")
                return .null
            }
            #expect(answer.status == 200)
            return try JSONParser.parse(answer.body)
        }
        #expect(try validate(Fixtures.review(object: Fixtures.configMap()))["response"]?["allowed"] == .bool(true))
        let first = try validate(Fixtures.review(object: Fixtures.policy(name: "first")))
        #expect(first["response"]?["allowed"] == .bool(true))
        // A dry run of a conflicting policy is judged against the store but does not join it.
        let dryRun = try validate(Fixtures.review(object: Fixtures.policy(name: "second"), dryRun: true))
        #expect(dryRun["response"]?["allowed"] == .bool(false))
        let second = try validate(Fixtures.review(object: Fixtures.policy(name: "second")))
        #expect(second["response"]?["allowed"] == .bool(false))
        let message = second["response"]?["status"]?["message"]?.stringValue ?? ""
        #expect(message.contains("default/first"), "\(message)")
        #expect(Self.policy(store, "second") == nil)
        // Once the first policy is deleted, the second one is admitted.
        let delete = Fixtures.review(operation: "DELETE", object: nil, oldObject: Fixtures.policy(name: "first"))
        #expect(try validate(delete)["response"]?["allowed"] == .bool(true))
        let retry = try validate(Fixtures.review(object: Fixtures.policy(name: "second")))
        #expect(retry["response"]?["allowed"] == .bool(true))
        #expect(Self.policy(store, "second") != nil)
    }

    @Test func seedIsIndexed() throws {
        let policy = try BackendTLSPolicy(json: Fixtures.policy(name: "seeded", created: Fixtures.now))
        let store = MemoryObjectStore(seed: StoreSnapshot(policies: [policy]))
        #expect(store.snapshot().index.keys.count == 1)
        let newcomer = try BackendTLSPolicy(json: Fixtures.policy(name: "newcomer"))
        let key = try #require(store.snapshot().index.keys.first)
        #expect(store.snapshot().index.conflict(for: newcomer, on: key)?.metadata.name == "seeded")
    }
}
