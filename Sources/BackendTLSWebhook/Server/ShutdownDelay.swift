public import Logging
public import ServiceLifecycle
import Synchronization

/// Keeps every other part of the webhook serving for a while after SIGTERM.
///
/// Kubernetes takes a terminating pod out of the Service's endpoints while the kubelet signals it; until every API
/// server has seen that, admission requests still come to this pod, and a closed listener would fail them (with
/// `failurePolicy: Fail`, the write is refused). Listed last, so that the service group, which stops its services
/// in reverse order, stops this one first and the others only once the delay is over.
public final class ShutdownDelay: ServiceLifecycle.Service, Sendable {
    public let delay: Duration
    private let logger: Logger
    private let begun = Atomic<Bool>(false)

    public init(delay: Duration, logger: Logger) {
        self.delay = delay
        self.logger = logger
    }

    /// Shutdown has begun: `/readyz` answers 503 meanwhile, while requests are still served.
    public var isShuttingDown: Bool { begun.load(ordering: .relaxed) }

    public func run() async throws {
        try? await gracefulShutdown()
        begun.store(true, ordering: .relaxed)
        guard delay > .zero else { return }
        logger.info(
            "shutting down after the delay: still serving while the endpoints drop this pod",
            metadata: ["delay": "\(delay)"])
        // A second signal cancels the group, and with it the wait.
        try? await Task.sleep(for: delay)
    }
}
