import BackendTLS
import BackendTLSManifests
public import Logging
import Prometheus
public import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Loads `--config-dir` (BackendTLSPolicies, ConfigMaps, Secrets, Services; YAML or JSON) into the state
/// and reloads it when a file changes. A load that fails keeps the last good configuration, logs why
/// and counts it.
public final class ConfigDirectorySource: ServiceLifecycle.Service, Sendable {
    private let directory: String
    private let namespace: String
    private let state: SidecarState
    private let metrics: SidecarMetrics
    private let logger: Logger
    private let pollInterval: Duration

    public init(
        directory: String,
        namespace: String,
        state: SidecarState,
        metrics: SidecarMetrics,
        logger: Logger,
        pollInterval: Duration = .milliseconds(250)
    ) {
        self.directory = directory
        self.namespace = namespace
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// Loads now; throws the reason when the directory cannot be used.
    @discardableResult
    public func load() throws -> Int {
        let manifests = try ManifestLoader.load([directory])
        var store = StoreSnapshot()
        var problems: [String] = []
        for manifest in manifests {
            // Defaulted as `kubectl apply` with the webhook installed would store it, and as `backendtls lint` judges
            // it: a manifest lint calls clean is not refused here for a default it left out.
            let object = PolicyDefaulter.defaulted(manifest.object).object
            if let failure = store.insert(object, defaultNamespace: namespace) {
                problems.append("\(manifest.source): \(failure.detail)")
            }
        }
        guard problems.isEmpty else { throw LoadFailure(problems: problems) }
        state.install(store)
        return manifests.count
    }

    struct LoadFailure: Error, CustomStringConvertible {
        let problems: [String]
        var description: String { problems.joined(separator: "; ") }
    }

    public func run() async throws {
        reload(reason: "start")
        // Shutdown cancels the sleep; that is the normal way out, not an error.
        try? await cancelWhenGracefulShutdown {
            var signature = Self.signature(of: self.directory)
            while !Task.isCancelled {
                try await Task.sleep(for: self.pollInterval)
                let next = Self.signature(of: self.directory)
                if next != signature {
                    signature = next
                    self.reload(reason: "change")
                }
            }
        }
    }

    func reload(reason: String) {
        do {
            let count = try load()
            metrics.configReloads(result: "success").increment()
            logger.info(
                "configuration loaded",
                metadata: ["directory": "\(directory)", "objects": "\(count)", "reason": "\(reason)"])
        } catch {
            metrics.configReloads(result: "failure").increment()
            logger.error(
                "configuration not loaded; keeping the last good one",
                metadata: ["directory": "\(directory)", "error": "\(error)", "loaded": "\(state.isLoaded)"])
        }
    }

    /// The directory's file names and a hash of every byte of each file: cheap to compare on every poll, and it
    /// sees any edit, also one that keeps a file's size and modification time. Every byte: `Data`'s own hash
    /// covers only its length and first 80 bytes, and the first 80 bytes of a ConfigMap are its header. Sizes and
    /// times would add nothing, and reading them as FileManager attributes made Foundation start CoreFoundation,
    /// whose code then stayed mapped in every sidecar (issue 5's memory goal).
    static func signature(of directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().map { name in
            var hasher = Hasher()
            if let contents = FileManager.default.contents(atPath: "\(directory)/\(name)") {
                hasher.combine(contents.count)
                contents.withUnsafeBytes { hasher.combine(bytes: $0) }
            } else {
                hasher.combine(-1)  // unreadable, or a directory
            }
            return "\(name):\(hasher.finalize())"
        }
    }
}
