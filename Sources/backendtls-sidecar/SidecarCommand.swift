import ArgumentParser
import BackendTLS
import BackendTLSCommandLine
import BackendTLSKube
import BackendTLSServerSupport
import BackendTLSSidecar
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `backendtls-sidecar`: originates TLS to backends with exactly the settings BackendTLSPolicies resolve to.
///
/// A synchronous command that waits for its asynchronous work (`runToCompletion`), not an `AsyncParsableCommand`.
@main
struct SidecarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backendtls-sidecar",
        abstract: "Proxy that enforces the resolved BackendTLSPolicy on connections to backends.")

    enum LogLevel: String, ExpressibleByArgument {
        case trace, debug, info, notice, warning, error, critical
    }

    @Option(help: "HTTP mode address (apps send plain HTTP here, or use it as HTTP_PROXY); \"none\" disables it.")
    var listen = "127.0.0.1:15001"

    @Option(name: .customLong("route"), help: "TCP mode: LISTEN=SERVICE.NAMESPACE:PORT, repeatable.")
    var routes: [String] = []

    @Option(help: "Namespace of Services named without one (default: the pod's, else \"default\").")
    var namespace: String?

    @Option(
        name: .customLong("config-dir"),
        help: "Directory of manifests (policies, ConfigMaps, Secrets, Services); reloaded on change.")
    var configDirectory: String?

    @Flag(
        help:
            "Cluster mode: watch BackendTLSPolicies and Services of the namespace and the CA objects they reference.")
    var kube = false

    @OptionGroup var cluster: KubeconfigOptions

    @Flag(
        name: .customLong("require-policy"),
        help: "Refuse (502) traffic to Services no policy covers instead of plaintext.")
    var requirePolicy = false

    @Option(name: .customLong("metrics-listen"), help: "Plain-HTTP address for /metrics, /healthz and /readyz.")
    var metricsListen = "127.0.0.1:15090"

    @Option(name: .customLong("connect-timeout"), help: "Seconds to establish an upstream TCP connection.")
    var connectTimeout = 5.0

    @Option(name: .customLong("handshake-timeout"), help: "Seconds for the upstream TLS handshake.")
    var handshakeTimeout = 5.0

    @Option(
        name: .customLong("client-idle-timeout"),
        help: "Seconds an HTTP-mode client connection may sit idle (no request in flight) before it is closed.")
    var clientIdleTimeout = 120.0

    @Option(
        name: .customLong("client-send-timeout"),
        help: "Seconds an HTTP-mode client's waiting answer may go without a write before the client is closed.")
    var clientSendTimeout = 60.0

    @Option(
        name: .customLong("upstream-response-timeout"),
        help:
            "Seconds an HTTP-mode backend may send nothing once the request is sent: 504 before its answer began, the client closed after."
    )
    var upstreamResponseTimeout = 60.0

    @OptionGroup var validation: ValidationOptions

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: LogLevel = .info

    static let serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

    /// The pod's namespace from its service-account file; nil outside a pod or when the file is blank. Trimmed with
    /// the standard library: Foundation's `trimmingCharacters(in:)` would start CoreFoundation, whose code then
    /// stays mapped in the sidecar (issue 5's memory goal).
    static func podNamespace() -> String? {
        guard let text = try? String(contentsOfFile: serviceAccountNamespaceFile, encoding: .utf8),
            let first = text.firstIndex(where: { !$0.isWhitespace }),
            let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return nil }
        return String(text[first...last])
    }

    func validate() throws {
        guard (configDirectory != nil) != kube else {
            throw ValidationError("give exactly one configuration source: --config-dir DIR or --kube")
        }
        if listen != "none", ListenAddress(parsing: listen) == nil {
            throw ValidationError("--listen \(listen.debugDescription) is not HOST:PORT")
        }
        guard ListenAddress(parsing: metricsListen) != nil else {
            throw ValidationError("--metrics-listen \(metricsListen.debugDescription) is not HOST:PORT")
        }
        for route in routes where SidecarConfiguration.Route(parsing: route, defaultNamespace: "default") == nil {
            throw ValidationError("--route \(route.debugDescription) is not LISTEN=SERVICE.NAMESPACE:PORT")
        }
        guard connectTimeout > 0, handshakeTimeout > 0, clientIdleTimeout > 0, clientSendTimeout > 0,
            upstreamResponseTimeout > 0
        else {
            throw ValidationError("timeouts must be positive")
        }
    }

    func run() throws {
        let group = try makeServiceGroup()
        try runToCompletion { try await group.run() }
    }

    /// The sidecar's services, ready to run: everything up to running them happens on this thread.
    func makeServiceGroup() throws -> ServiceGroup {
        let level = Logger.Level(rawValue: logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "backendtls-sidecar")
        let namespace = self.namespace ?? Self.podNamespace() ?? "default"
        let configuration = SidecarConfiguration(
            httpListen: listen == "none" ? nil : ListenAddress(parsing: listen),
            routes: routes.compactMap { SidecarConfiguration.Route(parsing: $0, defaultNamespace: namespace) },
            namespace: namespace,
            configDirectory: configDirectory,
            requirePolicy: requirePolicy,
            metricsListen: ListenAddress(parsing: metricsListen)!,
            timeouts: .init(
                connect: .milliseconds(Int64(connectTimeout * 1000)),
                handshake: .milliseconds(Int64(handshakeTimeout * 1000)),
                clientIdle: .milliseconds(Int64(clientIdleTimeout * 1000)),
                clientSend: .milliseconds(Int64(clientSendTimeout * 1000)),
                upstreamResponse: .milliseconds(Int64(upstreamResponseTimeout * 1000))),
            validation: validation.configuration())
        let metrics = SidecarMetrics()
        let application: SidecarApplication
        do {
            application = SidecarApplication(
                configuration: configuration,
                kubeClient: try kube
                    ? makeKubeClient(metrics: KubeMetrics(registry: metrics.registry), logger: logger) : nil,
                metrics: metrics, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["reason": "\(error)"])
            throw ExitCode(1)
        }
        return ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
    }

    func makeKubeClient(metrics: KubeMetrics, logger: Logger) throws -> KubeClient {
        let credentials = try KubeCredentials.select(
            kubeconfig: cluster.kubeconfig, context: cluster.context, allowInsecure: cluster.allowInsecureKubeconfig,
            logger: logger)
        return try KubeClient(credentials: credentials, metrics: metrics, logger: logger)
    }
}
