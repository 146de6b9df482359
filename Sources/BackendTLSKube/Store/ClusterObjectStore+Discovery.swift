public import Logging

extension ClusterObjectStore {
    /// Asks the cluster which BackendTLSPolicy version it serves (until it answers; each failure goes to
    /// `onProblem`, for readiness), then makes the store that watches it. `nil` once the task is cancelled.
    public static func discovering(
        client: KubeClient,
        namespace: String?,
        informer: Informer.Configuration,
        retry: Backoff,
        metrics: KubeMetrics?,
        logger: Logger,
        onProblem: (String) -> Void,
        onChange: @escaping @Sendable () -> Void = {}
    ) async -> ClusterObjectStore? {
        guard
            let version = await PolicyVersionDiscovery.discover(
                using: client, retry: retry, logger: logger, onFailure: onProblem)
        else { return nil }
        var configuration = Configuration(namespace: namespace, policyVersion: version)
        configuration.informer = informer
        logger.info(
            "watching the cluster",
            metadata: [
                "server": "\(client.credentials.server)", "credentials": "\(client.credentials.origin)",
                "backendTLSPolicyVersion": "\(version)", "namespace": "\(namespace ?? "(all)")",
            ])
        return ClusterObjectStore(
            client: client, configuration: configuration, metrics: metrics, logger: logger, onChange: onChange)
    }
}
