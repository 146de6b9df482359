public import BackendTLS
public import BackendTLSServerSupport

/// The sidecar's settings as one value; the executable fills it from flags (STYLE §3).
public struct SidecarConfiguration: Sendable {
    /// A TCP route: connections to `listen` are relayed over TLS to `service` in `namespace` on `port`.
    public struct Route: Sendable, Hashable {
        public var listen: ListenAddress
        public var namespace: String
        public var service: String
        public var port: Int

        public init(listen: ListenAddress, namespace: String, service: String, port: Int) {
            self.listen = listen
            self.namespace = namespace
            self.service = service
            self.port = port
        }

        /// `127.0.0.1:9443=SERVICE.NAMESPACE:PORT`.
        public init?(parsing text: String, defaultNamespace: String) {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let listen = ListenAddress(parsing: parts[0]),
                let target = ServiceAuthority(parsing: parts[1], defaultNamespace: defaultNamespace),
                let port = target.port
            else { return nil }
            self.init(listen: listen, namespace: target.namespace, service: target.service, port: port)
        }
    }

    public struct Timeouts: Sendable {
        public var connect: Duration
        public var handshake: Duration
        /// Pooled upstream connections idle longer than this are closed.
        public var poolIdle: Duration
        /// HTTP-mode client connections with no request in flight and no bytes either way for this long are
        /// closed: a client that never finishes its request head holds nothing for ever.
        public var clientIdle: Duration
        /// HTTP-mode client connections whose answer waits in the sidecar and of which nothing could be written for
        /// this long are closed: the backend connection waits for them meanwhile.
        public var clientSend: Duration

        public init(
            connect: Duration = .seconds(5), handshake: Duration = .seconds(5), poolIdle: Duration = .seconds(60),
            clientIdle: Duration = .seconds(120), clientSend: Duration = .seconds(60)
        ) {
            self.connect = connect
            self.handshake = handshake
            self.poolIdle = poolIdle
            self.clientIdle = clientIdle
            self.clientSend = clientSend
        }
    }

    public var httpListen: ListenAddress?
    public var routes: [Route]
    public var namespace: String
    /// `--config-dir`; `nil` in cluster mode (`--kube`).
    public var configDirectory: String?
    /// Refuse (502) traffic to Services that no policy covers instead of forwarding it in plaintext.
    public var requirePolicy: Bool
    public var metricsListen: ListenAddress
    public var timeouts: Timeouts
    public var maximumIdleConnectionsPerBackend: Int
    public var validation: ValidationConfiguration

    public init(
        httpListen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 15001),
        routes: [Route] = [],
        namespace: String = "default",
        configDirectory: String?,
        requirePolicy: Bool = false,
        metricsListen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 15090),
        timeouts: Timeouts = Timeouts(),
        maximumIdleConnectionsPerBackend: Int = 16,
        validation: ValidationConfiguration = ValidationConfiguration()
    ) {
        self.httpListen = httpListen
        self.routes = routes
        self.namespace = namespace
        self.configDirectory = configDirectory
        self.requirePolicy = requirePolicy
        self.metricsListen = metricsListen
        self.timeouts = timeouts
        self.maximumIdleConnectionsPerBackend = maximumIdleConnectionsPerBackend
        self.validation = validation
    }
}

/// `name[.namespace[.svc[.cluster.local]]][:port]`: how apps name Services, parsed to (namespace, name, port).
public struct ServiceAuthority: Sendable, Hashable {
    public var service: String
    public var namespace: String
    public var port: Int?

    public init?(parsing text: String, defaultNamespace: String) {
        var host = Substring(text)
        var port: Int?
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") {
            guard let number = Int(host[host.index(after: colon)...]), (1...65_535).contains(number) else { return nil }
            port = number
            host = host[..<colon]
        }
        var labels = host.lowercased().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if labels.count >= 4, labels.suffix(2) == ["cluster", "local"] { labels.removeLast(2) }
        if labels.count >= 3, labels.last == "svc" { labels.removeLast() }
        guard (1...2).contains(labels.count), labels.allSatisfy({ !$0.isEmpty }) else { return nil }
        self.service = labels[0]
        self.namespace = labels.count == 2 ? labels[1] : defaultNamespace
        self.port = port
    }
}
