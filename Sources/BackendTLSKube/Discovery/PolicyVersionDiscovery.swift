import BackendTLS
public import Logging

/// Which BackendTLSPolicy version the cluster serves: v1 when it can, else v1alpha3 (Gateway API v1.2–v1.3).
///
/// The informer must ask for a version that exists; asking for v1 on an older cluster gets a 404 forever.
public enum PolicyVersionDiscovery {
    private static let group = BackendTLSPolicyVersion.group
    /// In order of preference (the order `BackendTLSPolicyVersion` lists them). v1alpha2 is accepted last for
    /// clusters still on Gateway API v1.1.
    private static let preferred = BackendTLSPolicyVersion.allCases.map(\.rawValue)

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Asks until the cluster answers; each failure goes to `onFailure` (readiness text) and the log.
    /// Returns nil once the task is cancelled.
    public static func discover(
        using client: KubeClient,
        retry: Backoff,
        logger: Logger,
        onFailure: (String) -> Void
    ) async -> String? {
        var attempt = 0
        while !Task.isCancelled {
            do {
                return try await discover(using: client)
            } catch {
                onFailure("\(error)")
                logger.warning("cannot discover BackendTLSPolicy; not ready", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: retry.delay(attempt: attempt))
                attempt += 1
            }
        }
        return nil
    }

    public static func discover(using client: KubeClient) async throws -> String {
        let groupDocument: JSONValue
        do {
            groupDocument = try await client.get("/apis/\(group)")
        } catch {
            guard error.statusCode == 404 else { throw error }
            throw Failure(
                description:
                    "the cluster does not serve \(group) (GET /apis/\(group): 404); install the Gateway API CRDs")
        }
        let served = (groupDocument["versions"]?.arrayValue ?? []).compactMap { $0["version"]?.stringValue }
        for version in preferred where served.contains(version) {
            let resources = try await client.get("/apis/\(group)/\(version)")
            let names = (resources["resources"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            if names.contains("backendtlspolicies") { return version }
        }
        throw Failure(
            description:
                "the cluster serves \(group) versions [\(served.joined(separator: ", "))] but none has backendtlspolicies; install the BackendTLSPolicy CRD (Gateway API experimental or v1.4+ standard channel)"
        )
    }
}
