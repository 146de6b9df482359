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
        /// HTTP mode: a backend that sends nothing for this long once the request is sent (nginx's
        /// `proxy_read_timeout`) is given up: 504 before its answer began, the client connection closed after.
        public var upstreamResponse: Duration

        public init(
            connect: Duration = .seconds(5), handshake: Duration = .seconds(5), poolIdle: Duration = .seconds(60),
            clientIdle: Duration = .seconds(120), clientSend: Duration = .seconds(60),
            upstreamResponse: Duration = .seconds(60)
        ) {
            self.connect = connect
            self.handshake = handshake
            self.poolIdle = poolIdle
            self.clientIdle = clientIdle
            self.clientSend = clientSend
            self.upstreamResponse = upstreamResponse
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
///
/// Strict, because the parse decides two things that must agree: which policy applies (namespace and name) and,
/// without the Service's clusterIP, where to connect (`host`, the DNS name as written). A looser reading (a second
/// `:`, an IP literal, a label that is no DNS label) could resolve a name that has no policy and then connect to
/// one that has.
public struct ServiceAuthority: Sendable, Hashable {
    public var service: String
    public var namespace: String
    public var port: Int?
    /// The DNS name as written, in lower case and without the port: what is looked up without a clusterIP.
    public var host: String

    public init?(parsing text: String, defaultNamespace: String) {
        let pieces = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count <= 2 else { return nil }
        var port: Int?
        if pieces.count == 2 {
            let digits = pieces[1]
            guard (1...5).contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 &- 0x30 < 10 }),
                let number = Int(digits), (1...65_535).contains(number)
            else { return nil }
            port = number
        }
        let host = pieces[0].lowercased()
        var labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if labels.count >= 4, labels.suffix(2) == ["cluster", "local"] { labels.removeLast(2) }
        if labels.count >= 3, labels.last == "svc" { labels.removeLast() }
        guard (1...2).contains(labels.count), Self.isLabel(labels[0], startingWithLetter: true),
            labels.count == 1 || Self.isLabel(labels[1], startingWithLetter: false)
        else { return nil }
        self.service = labels[0]
        self.namespace = labels.count == 2 ? labels[1] : defaultNamespace
        self.port = port
        self.host = host
    }

    /// A Service name is an RFC 1035 label (a letter first), a namespace an RFC 1123 label: lower-case letters,
    /// digits and inner hyphens, at most 63.
    private static func isLabel(_ label: String, startingWithLetter: Bool) -> Bool {
        let bytes = label.utf8
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63 else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 || byte &- 0x30 < 10 }
        return (startingWithLetter ? first &- 0x61 < 26 : isAlphanumeric(first)) && isAlphanumeric(last)
            && bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}
