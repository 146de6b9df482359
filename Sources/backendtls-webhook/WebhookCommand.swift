import ArgumentParser
import BackendTLS
import BackendTLSCommandLine
import BackendTLSKube
import BackendTLSServerSupport
import BackendTLSWebhook
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `backendtls-webhook`: flags in, one `ServiceGroup` out (SIGTERM and SIGINT shut down gracefully).
@main
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backendtls-webhook",
        abstract: "Admission webhook for Gateway API BackendTLSPolicy (validating and mutating).")

    enum StoreMode: String, ExpressibleByArgument {
        case memory
        case kubernetes
    }

    enum UnavailableMode: String, ExpressibleByArgument {
        case warn, deny
    }

    enum LogLevel: String, ExpressibleByArgument {
        case trace, debug, info, notice, warning, error, critical
    }

    @Option(help: "HTTPS address for AdmissionReviews.")
    var listen = "0.0.0.0:8443"

    @Option(name: .customLong("tls-cert-file"), help: "Serving certificate chain (PEM); reloaded when it changes.")
    var tlsCertFile: String?

    @Option(name: .customLong("tls-key-file"), help: "Serving private key (PEM); reloaded when it changes.")
    var tlsKeyFile: String?

    @Option(name: .customLong("client-ca-file"), help: "Require client certificates issued by these CAs (PEM).")
    var clientCAFile: String?

    @Option(
        name: .customLong("dev-certificate"),
        help: "Generate a development CA, serving and client certificate into this directory and serve with them.")
    var developmentCertificateDirectory: String?

    @Flag(name: .customLong("disable-http2"), help: "Offer only HTTP/1.1 in ALPN.")
    var disableHTTP2 = false

    @Option(name: .customLong("probe-listen"), help: "Plain-HTTP address for /healthz and /readyz.")
    var probeListen = "0.0.0.0:8081"

    @Option(name: .customLong("metrics-listen"), help: "Plain-HTTP address for Prometheus /metrics.")
    var metricsListen = "0.0.0.0:9090"

    @Option(
        help:
            "Where cluster objects come from: kubernetes (the API server; the default in a pod) or memory (learned from admitted requests; the default elsewhere)."
    )
    var store: StoreMode?

    @OptionGroup var cluster: KubeconfigOptions

    @Option(
        name: .customLong("watch-namespace"),
        help: "Watch BackendTLSPolicies and Services in this namespace only (default: all namespaces).")
    var watchNamespace: String?

    @Option(
        name: .customLong("lookup-timeout"),
        help: "Seconds an admission may wait for ConfigMaps/Secrets fetched from the API server.")
    var lookupTimeout = 2.0

    @Option(
        name: .customLong("when-api-unavailable"),
        help: "What cross-object checks that could not be made do: warn (the policy's own rules still deny) or deny.")
    var whenAPIUnavailable: UnavailableMode = .warn

    @Option(name: .customLong("resync-interval"), help: "Seconds between full relists of the watched resources.")
    var resyncInterval = 600.0

    @OptionGroup var validation: ValidationOptions

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted; larger gets 413.")
    var maximumBodyBytes = 7 << 20

    @Option(name: .customLong("max-header-bytes"), help: "Largest request header block accepted; larger gets 431.")
    var maximumHeaderBytes = 32 << 10

    @Option(name: .customLong("read-timeout"), help: "Seconds a request may take to arrive once started.")
    var readTimeout = 10.0

    @Option(name: .customLong("idle-timeout"), help: "Seconds an idle keep-alive connection stays open.")
    var idleTimeout = 90.0

    @Option(name: .customLong("max-connections"), help: "Open connections at most; more are closed on accept.")
    var maximumConnections = 1024

    @Option(name: .customLong("max-concurrent-streams"), help: "HTTP/2 streams per connection at most.")
    var maximumConcurrentStreams = 100

    @Option(name: .customLong("certificate-poll-interval"), help: "Seconds between serving-certificate file checks.")
    var certificatePollInterval = 1.0

    @Option(name: .customLong("shutdown-grace-period"), help: "Seconds in-flight requests get on shutdown.")
    var shutdownGracePeriod = 10.0

    @Option(
        name: .customLong("shutdown-delay"),
        help:
            "Seconds to go on serving after SIGTERM, /readyz answering 503, before the listener closes: the time the API servers take to drop a terminating pod from the endpoints."
    )
    var shutdownDelay = 0.0

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: LogLevel = .info

    func validate() throws {
        guard developmentCertificateDirectory != nil || (tlsCertFile != nil && tlsKeyFile != nil) else {
            throw ValidationError("--tls-cert-file and --tls-key-file are required (or --dev-certificate DIR)")
        }
        for (flag, value) in [
            ("--listen", listen), ("--probe-listen", probeListen), ("--metrics-listen", metricsListen),
        ]
        where ListenAddress(parsing: value) == nil {
            throw ValidationError("\(flag) \(value.debugDescription) is not HOST:PORT, :PORT or [V6]:PORT")
        }
        guard maximumBodyBytes > 0, maximumHeaderBytes > 0, maximumConnections > 0, maximumConcurrentStreams > 0 else {
            throw ValidationError("limits must be positive")
        }
        guard readTimeout > 0, idleTimeout > 0, certificatePollInterval > 0, shutdownGracePeriod >= 0,
            shutdownDelay >= 0
        else {
            throw ValidationError("timeouts and intervals must be positive")
        }
        guard lookupTimeout > 0, resyncInterval > 0 else {
            throw ValidationError("--lookup-timeout and --resync-interval must be positive")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "backendtls-webhook")
        var certificateFile = tlsCertFile ?? ""
        var keyFile = tlsKeyFile ?? ""
        let clientCA = clientCAFile
        if let directory = developmentCertificateDirectory {
            let files = try DevelopmentCertificate.generate(in: directory)
            certificateFile = files.serverCertificate
            keyFile = files.serverKey
            logger.notice(
                "generated a development PKI",
                metadata: ["ca": "\(files.caCertificate)", "client": "\(files.clientCertificate)"])
        }
        let configuration = WebhookConfiguration(
            listen: ListenAddress(parsing: listen)!,
            probeListen: ListenAddress(parsing: probeListen)!,
            metricsListen: ListenAddress(parsing: metricsListen)!,
            tls: .init(
                certificateFile: certificateFile, keyFile: keyFile, clientCAFile: clientCA,
                pollInterval: .milliseconds(Int64(certificatePollInterval * 1000))),
            disableHTTP2: disableHTTP2,
            limits: .init(
                maximumBodyBytes: maximumBodyBytes,
                maximumHeaderBytes: maximumHeaderBytes,
                readTimeout: .milliseconds(Int64(readTimeout * 1000)),
                idleTimeout: .milliseconds(Int64(idleTimeout * 1000)),
                maximumConnections: maximumConnections,
                maximumConcurrentStreams: maximumConcurrentStreams,
                shutdownGracePeriod: .milliseconds(Int64(shutdownGracePeriod * 1000)),
                shutdownDelay: .milliseconds(Int64(shutdownDelay * 1000))),
            validation: validation.configuration())
        let metrics = WebhookMetrics()
        let application: WebhookApplication
        do {
            let store = try makeStore(validation: configuration.validation, metrics: metrics, logger: logger)
            application = try WebhookApplication(
                configuration: configuration, store: store, metrics: metrics, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["reason": "\(error)"])
            throw ExitCode(1)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// Memory, or the API server through in-cluster credentials or a kubeconfig.
    func makeStore(validation: ValidationConfiguration, metrics: WebhookMetrics, logger: Logger) throws
        -> any WebhookStore
    {
        let inCluster = KubeCredentials.isInCluster()
        let mode = store ?? (inCluster || cluster.kubeconfig != nil ? .kubernetes : .memory)
        guard mode == .kubernetes else { return MemoryObjectStore() }
        let credentials = try KubeCredentials.select(
            kubeconfig: cluster.kubeconfig, context: cluster.context, allowInsecure: cluster.allowInsecureKubeconfig,
            logger: logger)
        let kubeMetrics = KubeMetrics(registry: metrics.registry)
        let client = try KubeClient(credentials: credentials, metrics: kubeMetrics, logger: logger)
        var storeConfiguration = KubernetesWebhookStore.Configuration()
        storeConfiguration.namespace = watchNamespace
        storeConfiguration.lookupTimeout = .milliseconds(Int64(lookupTimeout * 1000))
        storeConfiguration.denyWhenUnavailable = whenAPIUnavailable == .deny
        storeConfiguration.informer.resyncInterval = .milliseconds(Int64(resyncInterval * 1000))
        return KubernetesWebhookStore(
            client: client, configuration: storeConfiguration, validation: validation, metrics: kubeMetrics,
            logger: logger)
    }
}
