import BackendTLS
import Prometheus

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where and how to connect for one Service port, decided from one configuration snapshot.
///
/// Shared by HTTP and TCP mode so both apply the same rules: refuse a namespace whose policies are not watched
/// (502), refuse before the first load (503), refuse an unresolvable policy (502), plaintext without a policy
/// unless `--require-policy`, and the Service's clusterIP when known.
struct UpstreamPlan {
    let host: String
    let settings: ResolvedBackendTLS?
    let generation: Int

    static func make(
        namespace: String,
        service: String,
        port: Int,
        fallbackHost: String,
        environment: SidecarEnvironment
    ) -> Result<UpstreamPlan, ProxyFailure> {
        if let watched = environment.state.onlyNamespace, watched != namespace {
            return .failure(
                ProxyFailure(
                    status: 502, reason: "namespace_not_watched", policy: nil,
                    message:
                        "Service \(namespace)/\(service) is outside namespace \(watched), the only one whose BackendTLSPolicies this sidecar watches (--kube): whether a policy requires TLS to it is unknown, so it is refused rather than sent in plaintext"
                ))
        }
        // Resolution and snapshot come from one read, so a reload in between cannot mix generations.
        guard
            let (resolution, snapshot, fresh) = environment.state.resolve(
                namespace: namespace, service: service, port: .number(port))
        else {
            return .failure(
                ProxyFailure(
                    status: 503, reason: "not_ready", policy: nil, message: "the configuration has not been loaded yet")
            )
        }
        let settings: ResolvedBackendTLS?
        switch resolution {
        case .failed(let failure):
            return .failure(.resolution(failure))
        case .noPolicy:
            guard !environment.configuration.requirePolicy else {
                return .failure(
                    ProxyFailure(
                        status: 502, reason: "no_policy", policy: nil,
                        message:
                            "no BackendTLSPolicy covers Service \(namespace)/\(service) port \(port), and --require-policy is set"
                    ))
            }
            settings = nil
        case .resolved(let resolved):
            settings = resolved
            if fresh, let expiry = resolved.trustExpiry {
                environment.metrics.caBundleExpiry(policy: resolved.policy.namespacedName)
                    .set(expiry.timeIntervalSince1970)
            }
        }
        let clusterIP = snapshot.store.service(namespace: namespace, name: service)?.clusterIP
        let host = clusterIP.flatMap { $0.isEmpty || $0 == "None" ? nil : $0 } ?? fallbackHost
        return .success(UpstreamPlan(host: host, settings: settings, generation: snapshot.generation))
    }
}
