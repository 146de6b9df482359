import BackendTLS
import BackendTLSKube
import Foundation
import KubeTestServer
import Synchronization
import Testing

/// Collects what an informer reports, as a name set per namespace/name.
final class InformerSink: Sendable {
    private let names = Mutex<Set<String>>([])
    private let replacements = Mutex(0)

    func apply(_ change: Informer.Change) {
        func key(_ object: JSONValue) -> String {
            "\(object["metadata"]?["namespace"]?.stringValue ?? "")/\(object["metadata"]?["name"]?.stringValue ?? "")"
        }
        switch change {
        case .replaced(let objects):
            names.withLock { $0 = Set(objects.map(key)) }
            replacements.withLock { $0 += 1 }
        case .upserted(let object): names.withLock { _ = $0.insert(key(object)) }
        case .deleted(let object): names.withLock { _ = $0.remove(key(object)) }
        }
    }

    var current: Set<String> { names.withLock { $0 } }
    var lists: Int { replacements.withLock { $0 } }
}

@Suite("Informer against the test API server's faults")
struct InformerTests {
    func start(_ bed: KubeTestbed, configuration: Informer.Configuration = KubeTestbed.fastInformer)
        throws -> (Informer, InformerSink, Task<Void, Never>)
    {
        let sink = InformerSink()
        let informer = Informer(
            client: try bed.client(), resource: .services, configuration: configuration, metrics: bed.metrics,
            logger: bed.logger
        ) { sink.apply($0) }
        let task = Task { await informer.run() }
        return (informer, sink, task)
    }

    @Test func listThenWatchAddsModifiesDeletes() async throws {
        let bed = try await KubeTestbed()
        bed.server.apply(KubeTestbed.service("a"))
        let (informer, sink, task) = try start(bed)
        #expect(await eventually { informer.hasSynced })
        #expect(sink.current == ["apps/a"])
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        bed.server.apply(KubeTestbed.service("b"))
        bed.server.delete(KubeTestbed.service("a"))
        #expect(await eventually { sink.current == ["apps/b"] })
        // The watch resumed from the list's resourceVersion with bookmarks asked for.
        let watch = try #require(bed.server.requests.first { $0.query["watch"] == "1" })
        #expect(watch.query["resourceVersion"] == "101")
        #expect(watch.query["allowWatchBookmarks"] == "true")
        #expect(
            bed.metricsText().contains(#"backendtls_kube_watch_events_total{resource="services",type="DELETED"} 1"#))
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func bookmarksAdvanceTheResourceVersion() async throws {
        let bed = try await KubeTestbed()
        let (informer, _, task) = try start(bed)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        // Objects of another resource move the cluster's resourceVersion; only a bookmark tells this watch.
        bed.server.apply(KubeTestbed.configMap("x", data: [:]))
        bed.server.apply(KubeTestbed.configMap("y", data: [:]))
        bed.server.sendBookmark()
        #expect(await eventually { informer.status.resourceVersion == "102" })
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func serverRestartMidWatchResumesWithoutLosingEvents() async throws {
        let bed = try await KubeTestbed()
        let (informer, sink, task) = try start(bed)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        await bed.server.stop()
        bed.server.apply(KubeTestbed.service("during-outage"))
        try await Task.sleep(for: .milliseconds(200))
        try await bed.server.restart()
        #expect(await eventually { sink.current == ["apps/during-outage"] })
        // Resumed by watching from the last resourceVersion, not by listing again.
        #expect(sink.lists == 1)
        #expect(informer.status.lastError == nil)
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test(arguments: [false, true])
    func goneRelistsAndCatchesUp(asHTTPStatus: Bool) async throws {
        let bed = try await KubeTestbed()
        bed.server.setGoneAsHTTPStatus(asHTTPStatus)
        bed.server.apply(KubeTestbed.service("old"))
        let (_, sink, task) = try start(bed)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        await bed.server.stop()
        bed.server.delete(KubeTestbed.service("old"))
        bed.server.apply(KubeTestbed.service("new"))
        bed.server.compact()
        try await bed.server.restart()
        #expect(await eventually { sink.current == ["apps/new"] })
        #expect(sink.lists == 2)
        #expect(bed.metricsText().contains(#"backendtls_kube_relists_total{resource="services",reason="gone"} 1"#))
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func resyncRelistsWithoutCountingAFailure() async throws {
        let bed = try await KubeTestbed()
        var configuration = KubeTestbed.fastInformer
        configuration.resyncInterval = .milliseconds(300)
        let (informer, sink, task) = try start(bed, configuration: configuration)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        try await Task.sleep(for: .milliseconds(400))
        // The next event finds the resync due: the informer lists again, as a resync, not as an error.
        bed.server.apply(KubeTestbed.service("due"))
        #expect(await eventually { sink.lists >= 2 })
        #expect(sink.current == ["apps/due"])
        let metrics = bed.metricsText()
        #expect(metrics.contains(#"backendtls_kube_relists_total{resource="services",reason="resync"}"#), "\(metrics)")
        #expect(!metrics.contains(#"reason="error""#), "\(metrics)")
        #expect(informer.status.lastError == nil)
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func aQuietReopenedWatchCountsAsHealthy() async throws {
        let bed = try await KubeTestbed()
        let (informer, _, task) = try start(bed)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        try await bed.server.restart()
        // No event arrives after the reconnect; the open watch alone clears the error.
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        #expect(await eventually { informer.status.isWatching && informer.status.lastError == nil })
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    /// Seven Services, listed by an informer in pages of three until it has synced all of them; the list requests.
    private func listSevenInPagesOfThree(_ bed: KubeTestbed) async throws -> (
        sink: InformerSink, lists: [TestKubeAPIServer.RecordedRequest], task: Task<Void, Never>
    ) {
        for index in 0..<7 { bed.server.apply(KubeTestbed.service("s\(index)")) }
        var configuration = KubeTestbed.fastInformer
        configuration.pageSize = 3
        let (informer, sink, task) = try start(bed, configuration: configuration)
        #expect(await eventually { informer.hasSynced })
        #expect(sink.current.count == 7)
        let lists = bed.server.requests.filter { $0.query["watch"] == nil && $0.path.hasSuffix("/services") }
        return (sink, lists, task)
    }

    @Test func listsArePagedAndAssembledWhole() async throws {
        let bed = try await KubeTestbed()
        let (_, lists, task) = try await listSevenInPagesOfThree(bed)
        #expect(lists.map { $0.query["limit"] } == ["3", "3", "3"])
        #expect(lists.map { $0.query["continue"] != nil } == [false, true, true])
        // The watch starts from the first page's resourceVersion.
        #expect(await eventually { bed.server.requests.contains { $0.query["watch"] == "1" } })
        #expect(bed.server.requests.first { $0.query["watch"] == "1" }?.query["resourceVersion"] == "107")
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    /// A continue token that expired mid-list (compaction passed its snapshot) is answered 410: the informer lists
    /// whole, in one answer, as client-go's pager does, instead of failing and paging from the start again.
    @Test func anExpiredContinueTokenFallsBackToOneWholeList() async throws {
        let bed = try await KubeTestbed()
        bed.server.setExpireContinueTokens(true)
        let (sink, lists, task) = try await listSevenInPagesOfThree(bed)
        #expect(lists.map { $0.query["limit"] } == ["3", "3", nil])
        #expect(lists.map { $0.query["continue"] != nil } == [false, true, false])
        #expect(sink.lists == 1, "one list, not a failed one and a retry")
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    /// The test server pages as etcd does: the pages after the first come from the first one's snapshot, so writes
    /// in between neither shift nor change them, and compaction past the snapshot expires the token.
    @Test func testServerPagesFromTheFirstPagesSnapshot() async throws {
        let bed = try await KubeTestbed()
        for index in 1...4 { bed.server.apply(KubeTestbed.service("s\(index)")) }
        let client = try bed.client()
        let path = KubeResource.services.path(namespace: nil)
        func names(_ page: JSONValue) -> [String] {
            (page["items"]?.arrayValue ?? []).compactMap { $0["metadata"]?["name"]?.stringValue }
        }
        let first = try await client.get(path, query: [("limit", "2")], verb: "list")
        #expect(names(first) == ["s1", "s2"])
        let token = try #require(first["metadata"]?["continue"]?.stringValue)
        bed.server.apply(KubeTestbed.service("s0"))
        bed.server.delete(KubeTestbed.service("s4"))
        let second = try await client.get(path, query: [("limit", "2"), ("continue", token)], verb: "list")
        #expect(names(second) == ["s3", "s4"])
        #expect(second["metadata"]?["resourceVersion"] == first["metadata"]?["resourceVersion"])
        bed.server.compact()
        await #expect(throws: KubeAPIError.self) {
            _ = try await client.get(path, query: [("limit", "2"), ("continue", token)], verb: "list")
        }
        await bed.cleanUp()
    }

    @Test func watchesThatEndAtOnceAreRetriedWithBackOff() async throws {
        let bed = try await KubeTestbed()
        bed.server.setEndWatchesAtOnce(true)
        let (informer, _, task) = try start(bed)
        #expect(await eventually { informer.hasSynced })
        try await Task.sleep(for: .seconds(1))
        let watches = bed.server.requests.filter { $0.query["watch"] == "1" }.count
        // Without back-off this is hundreds; with 50 ms doubling to 300 ms, a handful.
        #expect(watches >= 2 && watches <= 12, "\(watches) watches in one second")
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func expiredWatchEventRelists() async throws {
        let bed = try await KubeTestbed()
        let (_, sink, task) = try start(bed)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        bed.server.expireWatches()
        #expect(await eventually { sink.lists == 2 })
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func stalledWatchIsAbandonedAndReopened() async throws {
        let bed = try await KubeTestbed()
        var configuration = KubeTestbed.fastInformer
        configuration.stallTimeout = .seconds(1)
        let (_, sink, task) = try start(bed, configuration: configuration)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        bed.server.setStallWatches(true)
        bed.server.apply(KubeTestbed.service("sent-into-the-void"))
        bed.server.setStallWatches(false)
        try await Task.sleep(for: .milliseconds(300))
        #expect(sink.current.isEmpty)
        // The 1 s stall timeout ends the silent watch; the next one replays from the last resourceVersion.
        #expect(await eventually(timeout: .seconds(5)) { sink.current == ["apps/sent-into-the-void"] })
        #expect(bed.server.requests.filter { $0.query["watch"] == "1" }.count >= 2)
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func garbageLineIsCountedAndSkipped() async throws {
        let bed = try await KubeTestbed()
        let (_, sink, task) = try start(bed)
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        bed.server.injectGarbage()
        bed.server.injectGarbage(#"{"type":"EXPLODED","object":{}}"#)
        bed.server.apply(KubeTestbed.service("after-garbage"))
        #expect(await eventually { sink.current == ["apps/after-garbage"] })
        #expect(sink.lists == 1)
        #expect(
            bed.metricsText().contains(#"backendtls_kube_watch_events_total{resource="services",type="UNDECODABLE"} 2"#)
        )
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func slowServerStillSyncs() async throws {
        let bed = try await KubeTestbed()
        bed.server.apply(KubeTestbed.service("a"))
        bed.server.setResponseDelay(.milliseconds(400))
        let (informer, sink, task) = try start(bed)
        #expect(!informer.hasSynced)
        #expect(await eventually { informer.hasSynced })
        #expect(sink.current == ["apps/a"])
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func unreachableServerBacksOffAndSyncsWhenItComesBack() async throws {
        let bed = try await KubeTestbed()
        let client = try bed.client()
        await bed.server.stop()
        let sink = InformerSink()
        let informer = Informer(
            client: client, resource: .services, configuration: KubeTestbed.fastInformer, logger: bed.logger
        ) { sink.apply($0) }
        let task = Task { await informer.run() }
        #expect(await eventually { informer.status.lastError != nil })
        #expect(!informer.hasSynced)
        bed.server.apply(KubeTestbed.service("late"))
        try await bed.server.restart()
        #expect(await eventually { informer.hasSynced && sink.current == ["apps/late"] })
        task.cancel()
        await task.value
        await bed.cleanUp()
    }

    @Test func tokenRotationKeepsTheInformerWorking() async throws {
        let bed = try await KubeTestbed()
        let (client, tokenFile) = try bed.clientWithTokenFile()
        let sink = InformerSink()
        let informer = Informer(
            client: client, resource: .services, configuration: KubeTestbed.fastInformer, logger: bed.logger
        ) { sink.apply($0) }
        let task = Task { await informer.run() }
        #expect(await eventually { bed.server.openWatchCount >= 1 })
        bed.server.rotateToken(to: "token-2")
        try "token-2".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        // Drop the connection: the informer must come back with the new token.
        try await bed.server.restart()
        bed.server.apply(KubeTestbed.service("after-rotation"))
        #expect(await eventually { sink.current == ["apps/after-rotation"] })
        let refused = bed.server.requests.filter { !$0.authorized }
        #expect(refused.count == 1)
        #expect(bed.server.requests.last?.authorized == true)
        task.cancel()
        await task.value
        await bed.cleanUp()
    }
}
