public import BackendTLS
import Synchronization

/// Gets ConfigMaps and Secrets on demand, with a small short-lived cache.
///
/// They are never cached cluster-wide (every leader-election ConfigMap in a big cluster would sit in
/// memory); a policy names at most 8 CA objects, so fetching them when a request needs them is cheap. An
/// object found is served from the cache for `freshFor` (`invalidate` drops it when the webhook admits a
/// write to it); "not found" is never cached, so creating the ConfigMap and then the policy always works,
/// whichever webhook replica sees which.
public final class CAObjectFetcher: Sendable {
    /// An object the API server returned (404s are not cached).
    private struct Entry {
        var object: JSONValue
        var fetchedAt: ContinuousClock.Instant
    }

    private let client: KubeClient
    private let freshFor: Duration
    private let capacity: Int
    private let cache = Mutex<[String: Entry]>([:])

    public init(client: KubeClient, freshFor: Duration = .seconds(5), capacity: Int = 256) {
        self.client = client
        self.freshFor = freshFor
        self.capacity = capacity
    }

    private static func key(_ resource: KubeResource, _ namespace: String, _ name: String) -> String {
        "\(resource.plural)/\(namespace)/\(name)"
    }

    /// The cached object, when it is fresh.
    public func cached(_ resource: KubeResource, namespace: String, name: String) -> JSONValue? {
        let now = ContinuousClock.now
        return cache.withLock { cache in
            guard let entry = cache[Self.key(resource, namespace, name)], now - entry.fetchedAt < freshFor else {
                return nil
            }
            return entry.object
        }
    }

    /// The object (nil when it does not exist), from the cache when fresh, else from the API within `timeout`.
    public func fetch(_ resource: KubeResource, namespace: String, name: String, timeout: Duration)
        async throws(KubeAPIError) -> JSONValue?
    {
        // No such object can exist, and the name must not reach a URL.
        guard KubeResource.isValidObjectName(name) else { return nil }
        if let cached = cached(resource, namespace: namespace, name: name) { return cached }
        let object: JSONValue
        do {
            object = resource.stamped(
                try await client.get(resource.path(namespace: namespace, name: name), timeout: timeout))
        } catch {
            guard error.statusCode == 404 else { throw error }
            return nil
        }
        let entry = Entry(object: object, fetchedAt: .now)
        let capacity = self.capacity
        cache.withLock { cache in
            if cache.count >= capacity, let oldest = cache.min(by: { $0.value.fetchedAt < $1.value.fetchedAt })?.key {
                cache[oldest] = nil
            }
            cache[Self.key(resource, namespace, name)] = entry
        }
        return object
    }

    /// `fetch` as a value, for task groups that collect several lookups.
    public func result(_ resource: KubeResource, namespace: String, name: String, timeout: Duration) async
        -> Result<JSONValue?, KubeAPIError>
    {
        await KubeClient.capture { () async throws(KubeAPIError) -> JSONValue? in
            try await self.fetch(resource, namespace: namespace, name: name, timeout: timeout)
        }
    }

    public func invalidate(_ resource: KubeResource, namespace: String, name: String) {
        _ = cache.withLock { $0.removeValue(forKey: Self.key(resource, namespace, name)) }
    }
}
