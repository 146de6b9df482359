import BackendTLS
import NIOCore

extension HTTPProxyHandler {
    /// What an authority resolved to, kept for the connection's next request: keep-alive clients repeat the
    /// authority, and resolving again (state lock, resolution cache, Service lookup) cost more per request
    /// than relaying it. Valid for one configuration generation and one minute, as the resolution cache is.
    final class Route {
        let hostHeader: String
        let slot: UpstreamConnectionPool.Slot
        let minute: Int

        init(hostHeader: String, slot: UpstreamConnectionPool.Slot, minute: Int) {
            self.hostHeader = hostHeader
            self.slot = slot
            self.minute = minute
        }

        /// Resolves the target's Service port to where and how to connect, or why not.
        static func resolve(_ target: Target, environment: SidecarEnvironment) -> Result<
            UpstreamConnectionPool.Key, ProxyFailure
        > {
            let plan: UpstreamPlan
            switch UpstreamPlan.make(
                namespace: target.authority.namespace, service: target.authority.service, port: target.port,
                fallbackHost: target.host, environment: environment)
            {
            case .success(let made): plan = made
            case .failure(let failure): return .failure(failure)
            }
            if let settings = plan.settings, !settings.options.alpnProtocols.isEmpty,
                !settings.options.alpnProtocols.contains("http/1.1")
            {
                return .failure(
                    ProxyFailure(
                        status: 502, reason: "alpn", policy: "policy \(settings.policy.namespacedName)",
                        message:
                            "the policy offers only \(settings.options.alpnProtocols.joined(separator: ",")) in ALPN, but HTTP mode speaks HTTP/1.1 to backends; use a TCP route (--route)"
                    ))
            }
            return .success(
                UpstreamConnectionPool.Key(
                    host: plan.host, port: target.port, settings: plan.settings, generation: plan.generation))
        }
    }
}
