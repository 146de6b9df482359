import BackendTLS
import BackendTLSKube
import Foundation
import KubeTestServer
import Testing

@Suite("Cluster object store and on-demand CA objects")
struct ClusterObjectStoreTests {
    @Test func informersFeedTheSnapshotAndIndex() async throws {
        let bed = try await KubeTestbed()
        bed.server.apply(KubeTestbed.service("web"))
        bed.server.apply(KubeTestbed.policy("first", service: "web"))
        var configuration = ClusterObjectStore.Configuration(policyVersion: "v1")
        configuration.informer = KubeTestbed.fastInformer
        let store = ClusterObjectStore(
            client: try bed.client(), configuration: configuration, metrics: bed.metrics, logger: bed.logger)
        let task = Task { await store.run() }
        #expect(await eventually { store.isSynced })
        var snapshot = store.snapshot()
        #expect(snapshot.store.service(namespace: "apps", name: "web") != nil)
        #expect(snapshot.store.policy(namespace: "apps", name: "first") != nil)
        #expect(
            snapshot.index.winner(
                for: .init(namespace: "apps", group: "", kind: "Service", name: "web", sectionName: nil))?.metadata.name
                == "first")
        bed.server.delete(KubeTestbed.policy("first", service: "web"))
        bed.server.apply(KubeTestbed.policy("second", service: "web"))
        #expect(await eventually { store.snapshot().store.policy(namespace: "apps", name: "second") != nil })
        snapshot = store.snapshot()
        #expect(snapshot.store.policy(namespace: "apps", name: "first") == nil)
        #expect(store.staleness == nil)
        await bed.server.stop()
        #expect(await eventually { store.staleness != nil })
        #expect(
            store.staleness?.contains("backendtlspolicies (") == true || store.staleness?.contains("services (") == true
        )
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    /// A Gateway API upgrade stops serving the version being watched: the informer meets 404, and the store
    /// discovers the version served now and watches that, instead of keeping the last policies it saw, ready.
    @Test func aVersionNoLongerServedIsReplacedByTheOneServedNow() async throws {
        let bed = try await KubeTestbed(servedPolicyVersions: ["v1alpha3"])
        bed.server.apply(KubeTestbed.service("web"))
        let alpha = KubeTestbed.policy("old", service: "web")
        guard case .object(var root) = alpha else { return }
        root["apiVersion"] = "gateway.networking.k8s.io/v1alpha3"
        bed.server.apply(.object(root))
        var configuration = ClusterObjectStore.Configuration(policyVersion: "v1alpha3")
        configuration.informer = KubeTestbed.fastInformer
        configuration.versionCheckInterval = .milliseconds(50)
        let store = ClusterObjectStore(
            client: try bed.client(), configuration: configuration, metrics: bed.metrics, logger: bed.logger)
        let task = Task { await store.run() }
        #expect(await eventually { store.isSynced })
        #expect(store.snapshot().store.policy(namespace: "apps", name: "old") != nil)

        bed.server.setServedPolicyVersions(["v1"])
        bed.server.apply(KubeTestbed.policy("new", service: "web"))
        #expect(await eventually { store.policies.resource.version == "v1" && store.isSynced })
        let snapshot = store.snapshot().store
        #expect(snapshot.policy(namespace: "apps", name: "new") != nil)
        #expect(snapshot.policy(namespace: "apps", name: "old") == nil, "a policy of the version no longer served")
        let lists = bed.server.requests.filter { $0.path.hasSuffix("/backendtlspolicies") && $0.query["watch"] == nil }
        #expect(lists.last?.path.contains("/v1/") == true)
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func fetcherCachesFoundObjectsBrieflyAndNeverNotFound() async throws {
        let bed = try await KubeTestbed()
        bed.server.apply(KubeTestbed.configMap("ca", data: ["ca.crt": "x"]))
        let fetcher = CAObjectFetcher(client: try bed.client(), freshFor: .seconds(60))
        let first = try await fetcher.fetch(.configMaps, namespace: "apps", name: "ca", timeout: .seconds(2))
        #expect(first?["kind"]?.stringValue == "ConfigMap")
        _ = try await fetcher.fetch(.configMaps, namespace: "apps", name: "ca", timeout: .seconds(2))
        #expect(bed.server.requests.count == 1)
        // "Not found" is asked again every time: the object may be created a moment later.
        #expect(try await fetcher.fetch(.configMaps, namespace: "apps", name: "absent", timeout: .seconds(2)) == nil)
        bed.server.apply(KubeTestbed.configMap("absent", data: ["ca.crt": "y"]))
        #expect(try await fetcher.fetch(.configMaps, namespace: "apps", name: "absent", timeout: .seconds(2)) != nil)
        #expect(bed.server.requests.count == 3)
        fetcher.invalidate(.configMaps, namespace: "apps", name: "ca")
        _ = try await fetcher.fetch(.configMaps, namespace: "apps", name: "ca", timeout: .seconds(2))
        #expect(bed.server.requests.count == 4)
        // A name that cannot be an object's never becomes a request path.
        #expect(
            try await fetcher.fetch(.configMaps, namespace: "apps", name: "../secrets/x", timeout: .seconds(2)) == nil)
        #expect(bed.server.requests.count == 4)
        // Gets are by name: no list of ConfigMaps ever leaves the process.
        #expect(bed.server.requests.allSatisfy { $0.path.hasSuffix("/ca") || $0.path.hasSuffix("/absent") })
        await bed.cleanUp()
    }
}
