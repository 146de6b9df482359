import NIOHTTP1
import Prometheus

extension HTTPProxyHandler {
    /// What a client connection remembers from its last request: keep-alive clients repeat the authority and
    /// mostly the status, and parsing, resolving and looking up a counter again cost more per request than
    /// relaying it.
    struct Memo {
        private var lastTarget: Target?
        private var lastRoute: Route?
        private var lastRequestCounter: (code: Int, counter: Counter)?

        mutating func target(of head: ClientRequestHead, defaultNamespace: String) -> Result<Target, ProxyFailure> {
            let parsed = Target.parse(head, defaultNamespace: defaultNamespace, known: lastTarget)
            if case .success(let target) = parsed { lastTarget = target }
            return parsed
        }

        /// Where and how to connect for the target (the pool's slot for it); the last answer holds while the
        /// configuration generation and the minute are unchanged.
        mutating func slot(
            for target: Target, environment: SidecarEnvironment, pool: UpstreamConnectionPool
        ) -> Result<
            UpstreamConnectionPool.Slot, ProxyFailure
        > {
            let minute = CoarseClock.minutesSince1970()
            if let route = lastRoute, route.hostHeader == target.hostHeader, route.minute == minute,
                route.slot.key.generation == environment.state.generation
            {
                return .success(route.slot)
            }
            let resolved = Route.resolve(target, environment: environment).map(pool.slot(for:))
            if case .success(let slot) = resolved {
                lastRoute = Route(hostHeader: target.hostHeader, slot: slot, minute: minute)
            }
            return resolved
        }

        /// The slot, or when the pool has let go of it (past its bound of slots), the pool's slot for its key now,
        /// remembered in its place: a client connection must not go on making connections that are never pooled.
        mutating func pooled(_ slot: UpstreamConnectionPool.Slot, pool: UpstreamConnectionPool)
            -> UpstreamConnectionPool.Slot
        {
            guard !slot.isPooled else { return slot }
            let current = pool.slot(for: slot.key)
            if let route = lastRoute, route.slot === slot {
                lastRoute = Route(hostHeader: route.hostHeader, slot: current, minute: route.minute)
            }
            return current
        }

        mutating func countRequest(code: Int, metrics: SidecarMetrics) {
            if let last = lastRequestCounter, last.code == code { return last.counter.increment() }
            let counter = metrics.requests(code: code)
            lastRequestCounter = (code, counter)
            counter.increment()
        }
    }
}
