public import BackendTLS
public import BackendTLSServerSupport

/// Everything the webhook needs to run, as one value: executables fill it from flags, tests build it directly.
///
/// Defaults equal the flag defaults (STYLE §3).
public struct WebhookConfiguration: Sendable {
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        /// When set, clients must present a certificate issued by one of these CAs (the API server can).
        public var clientCAFile: String?
        /// How often the serving certificate files are re-read even without a file-system event.
        public var pollInterval: Duration

        public init(
            certificateFile: String, keyFile: String, clientCAFile: String? = nil, pollInterval: Duration = .seconds(1)
        ) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.clientCAFile = clientCAFile
            self.pollInterval = pollInterval
        }
    }

    /// Bounds that keep slow, idle or hostile clients from pinning resources.
    public struct Limits: Sendable {
        /// An AdmissionReview carries `object` and `oldObject`, each up to 3 MiB.
        public var maximumBodyBytes: Int
        public var maximumHeaderBytes: Int
        /// A whole request (headers and body) must arrive within this time once it has started.
        public var readTimeout: Duration
        /// A keep-alive connection with no request for this long is closed.
        public var idleTimeout: Duration
        public var maximumConnections: Int
        public var maximumConcurrentStreams: Int
        /// In-flight requests get this long to finish on shutdown.
        public var shutdownGracePeriod: Duration
        /// After SIGTERM, everything keeps serving this long before the listener closes (ShutdownDelay).
        public var shutdownDelay: Duration

        public init(
            maximumBodyBytes: Int = 7 << 20,
            maximumHeaderBytes: Int = 32 << 10,
            readTimeout: Duration = .seconds(10),
            idleTimeout: Duration = .seconds(90),
            maximumConnections: Int = 1024,
            maximumConcurrentStreams: Int = 100,
            shutdownGracePeriod: Duration = .seconds(10),
            shutdownDelay: Duration = .zero
        ) {
            self.maximumBodyBytes = maximumBodyBytes
            self.maximumHeaderBytes = maximumHeaderBytes
            self.readTimeout = readTimeout
            self.idleTimeout = idleTimeout
            self.maximumConnections = maximumConnections
            self.maximumConcurrentStreams = maximumConcurrentStreams
            self.shutdownGracePeriod = shutdownGracePeriod
            self.shutdownDelay = shutdownDelay
        }
    }

    public var listen: ListenAddress
    public var probeListen: ListenAddress
    public var metricsListen: ListenAddress
    public var tls: TLS
    public var disableHTTP2: Bool
    public var limits: Limits
    public var validation: ValidationConfiguration

    public init(
        listen: ListenAddress = ListenAddress(host: "0.0.0.0", port: 8443),
        probeListen: ListenAddress = ListenAddress(host: "0.0.0.0", port: 8081),
        metricsListen: ListenAddress = ListenAddress(host: "0.0.0.0", port: 9090),
        tls: TLS,
        disableHTTP2: Bool = false,
        limits: Limits = Limits(),
        validation: ValidationConfiguration = ValidationConfiguration()
    ) {
        self.listen = listen
        self.probeListen = probeListen
        self.metricsListen = metricsListen
        self.tls = tls
        self.disableHTTP2 = disableHTTP2
        self.limits = limits
        self.validation = validation
    }
}
