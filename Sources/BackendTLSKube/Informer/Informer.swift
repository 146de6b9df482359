public import BackendTLS
import Foundation
public import Logging
import Prometheus
import Synchronization

/// Keeps a local view of one resource current: list, then watch from the list's `resourceVersion`.
///
/// Follows client-go's reflector where it matters: bookmarks advance the resourceVersion, 410 Gone (on the
/// request or as an ERROR event) or "too old resource version" means list again, any other failure means
/// watch again after a jittered back-off from the last resourceVersion seen, and the watch is relisted
/// every `resyncInterval` so a missed event cannot live forever. A line that does not decode is logged and
/// counted; the watch goes on.
public final class Informer: Sendable {
    public struct Configuration: Sendable {
        /// Relist this often even when the watch is healthy.
        public var resyncInterval: Duration = .seconds(600)
        /// The server ends each watch after this many seconds (randomized in the range, like client-go).
        public var watchTimeoutSeconds: ClosedRange<Int> = 240...300
        /// A watch silent this long (no event, no bookmark) is abandoned and reopened.
        public var stallTimeout: Duration = .seconds(330)
        public var backoff = Backoff()
        /// Lists are read in pages of this many objects (`limit`/`continue`), as client-go does.
        public var pageSize = 500

        public init() {}
    }

    /// What the informer tells its owner.
    public enum Change: Sendable {
        /// A full list: everything not in it is gone.
        case replaced([JSONValue])
        case upserted(JSONValue)
        case deleted(JSONValue)
    }

    public let resource: KubeResource
    public let namespace: String?
    public let fieldSelector: String?
    private let client: KubeClient
    private let configuration: Configuration
    private let metrics: KubeMetrics?
    private let logger: Logger
    private let onChange: @Sendable (Change) -> Void
    private let state = Mutex(Status())

    /// For readiness and for the warnings that say what could not be checked.
    public struct Status: Sendable {
        public var hasSynced = false
        /// Whether a watch is open right now.
        public var isWatching = false
        public var lastError: String?
        public var resourceVersion: String?
        /// The last failure was 404: the API server does not serve the resource at this version (any more), as
        /// when a Gateway API upgrade stops serving the BackendTLSPolicy version being watched.
        public var resourceMissing = false
    }

    public init(
        client: KubeClient,
        resource: KubeResource,
        namespace: String? = nil,
        fieldSelector: String? = nil,
        configuration: Configuration = .init(),
        metrics: KubeMetrics? = nil,
        logger: Logger,
        onChange: @escaping @Sendable (Change) -> Void
    ) {
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.fieldSelector = fieldSelector
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.onChange = onChange
        metrics?.synced(resource: resource.description).set(Int64(0))
    }

    public var status: Status { state.withLock { $0 } }
    public var hasSynced: Bool { state.withLock { $0.hasSynced } }

    private struct Relist: Error {
        var reason: String
    }

    /// Runs until the task is cancelled.
    public func run() async {
        var resourceVersion: String?
        var listedAt = ContinuousClock.now
        var listReason = "initial"
        var failures = 0
        /// 410s in a row without an event in between: a server that keeps saying Gone must not be hammered.
        var goneStreak = 0
        let path = resource.path(namespace: namespace)
        var selector: [(String, String)] = []
        if let fieldSelector { selector.append(("fieldSelector", fieldSelector)) }
        var logger = self.logger
        logger[metadataKey: "resource"] = "\(resource.plural)"
        if let namespace { logger[metadataKey: "namespace"] = "\(namespace)" }
        if let fieldSelector { logger[metadataKey: "fieldSelector"] = "\(fieldSelector)" }

        while !Task.isCancelled {
            if resourceVersion == nil || ContinuousClock.now - listedAt >= configuration.resyncInterval {
                if resourceVersion != nil { listReason = "resync" }
                do {
                    let (items, listVersion) = try await listAll(path, selector)
                    // List items carry no kind or apiVersion; the store needs both.
                    onChange(.replaced(items.map(resource.stamped)))
                    resourceVersion = listVersion ?? ""
                    listedAt = .now
                    failures = 0
                    metrics?.relists(resource: resource.description, reason: listReason).increment()
                    metrics?.synced(resource: resource.description).set(Int64(1))
                    state.withLock {
                        $0.hasSynced = true
                        $0.lastError = nil
                        $0.resourceMissing = false
                        $0.resourceVersion = listVersion
                    }
                    logger.debug(
                        "listed", metadata: ["items": "\(items.count)", "resourceVersion": "\(listVersion ?? "")"])
                } catch {
                    await fail(error, attempt: &failures, logger: logger, what: "list")
                    listReason = "error"
                    continue
                }
            }
            let watchStarted = ContinuousClock.now
            do {
                try await watch(path, selector, from: resourceVersion ?? "", listedAt: listedAt, logger: logger) {
                    resourceVersion = $0
                    goneStreak = 0
                }
                // The server ended the watch (its timeoutSeconds): watch again from where we are. A watch that
                // ends at once (a proxy, a draining server) is not healthy: back off as client-go does.
                if ContinuousClock.now - watchStarted < .seconds(1) {
                    try? await Task.sleep(for: configuration.backoff.delay(attempt: failures))
                    failures += 1
                } else {
                    failures = 0
                }
            } catch let relist as Relist {
                logger.info("listing again", metadata: ["reason": "\(relist.reason)"])
                listReason = relist.reason
                resourceVersion = nil
            } catch let error as KubeAPIError where error.isResourceVersionExpired {
                logger.info("resource version expired; listing again", metadata: ["error": "\(error)"])
                listReason = "gone"
                resourceVersion = nil
                if goneStreak > 0 { try? await Task.sleep(for: configuration.backoff.delay(attempt: goneStreak - 1)) }
                goneStreak += 1
            } catch is CancellationError {
                break
            } catch {
                await fail(error, attempt: &failures, logger: logger, what: "watch")
            }
        }
    }

    /// Every page of a list; the resourceVersion is the first page's (the snapshot the pages come from).
    private func listAll(_ path: String, _ selector: [(String, String)]) async throws(KubeAPIError) -> (
        [JSONValue], String?
    ) {
        var items: [JSONValue] = []
        var version: String?
        var token: String?
        repeat {
            var query = selector + [("limit", String(configuration.pageSize))]
            if let token { query.append(("continue", token)) }
            let page: JSONValue
            do {
                page = try await client.get(path, query: query, verb: "list")
            } catch  where token != nil && error.isResourceVersionExpired {
                // The snapshot the pages come from was compacted away before the last page (a list that takes
                // longer than etcd keeps history): as client-go's pager does, list everything again in one answer
                // instead of paging from the start once more, which a list this slow might never finish.
                logger.info("continue token expired; listing whole", metadata: ["error": "\(error)"])
                let whole = try await client.get(path, query: selector, verb: "list")
                return (whole["items"]?.arrayValue ?? [], whole["metadata"]?["resourceVersion"]?.stringValue)
            }
            items += page["items"]?.arrayValue ?? []
            if version == nil { version = page["metadata"]?["resourceVersion"]?.stringValue }
            token = page["metadata"]?["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return (items, version)
    }

    private func watch(
        _ path: String,
        _ selector: [(String, String)],
        from resourceVersion: String,
        listedAt: ContinuousClock.Instant,
        logger: Logger,
        advance: (String) -> Void
    ) async throws {
        let timeout = Int.random(in: configuration.watchTimeoutSeconds)
        let query =
            selector + [
                ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", String(timeout)),
            ]
        let latest = Mutex<String?>(nil)
        defer {
            state.withLock { $0.isWatching = false }
            if let version = latest.withLock({ $0 }) { advance(version) }
        }
        let resyncAt = listedAt + configuration.resyncInterval
        let label = resource.description
        try await client.watch(
            path, query: query, stallTimeout: configuration.stallTimeout,
            onOpen: { [self] in
                state.withLock {
                    $0.isWatching = true
                    $0.lastError = nil
                    $0.resourceMissing = false
                }
            },
            onEvent: { [self] event in
                metrics?.watchEvents(resource: label, type: event.type.rawValue).increment()
                switch event.type {
                case .added, .modified:
                    onChange(.upserted(resource.stamped(event.object)))
                case .deleted:
                    onChange(.deleted(resource.stamped(event.object)))
                case .bookmark:
                    break
                case .error:
                    let code = event.object["code"]?.intValue ?? 0
                    let reason = event.object["reason"]?.stringValue
                    throw KubeAPIError(
                        .status(code: code, reason: reason), request: "WATCH \(path)",
                        message: event.object["message"]?.stringValue ?? "watch error event")
                }
                if let version = event.resourceVersion {
                    latest.withLock { $0 = version }
                    state.withLock { $0.resourceVersion = version }
                }
                if ContinuousClock.now >= resyncAt { throw Relist(reason: "resync") }
            },
            onUndecodable: { [self] error in
                metrics?.watchEvents(resource: label, type: "UNDECODABLE").increment()
                // A Secret's bytes must not reach the log, not even as an excerpt of a broken line.
                let detail = resource == .secrets ? error.message : error.description
                logger.warning("skipping an undecodable watch event", metadata: ["error": "\(detail)"])
            })
    }

    private func fail(_ error: any Error, attempt: inout Int, logger: Logger, what: String) async {
        // Shutdown cancels the request in flight; that is not a failure worth a warning.
        guard !Task.isCancelled else { return }
        let delay = configuration.backoff.delay(attempt: attempt)
        attempt += 1
        state.withLock {
            $0.lastError = "\(error)"
            $0.isWatching = false
            $0.resourceMissing = (error as? KubeAPIError)?.statusCode == 404
        }
        logger.warning(
            "\(what) failed; retrying", metadata: ["error": "\(error)", "retryIn": "\(delay)", "attempt": "\(attempt)"])
        try? await Task.sleep(for: delay)
    }
}
