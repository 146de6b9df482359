import AsyncHTTPClient
public import BackendTLS
import BackendTLSServerSupport
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Prometheus
import Synchronization

/// A small Kubernetes API client: get, list and watch of JSON objects, nothing else.
///
/// There is no Swift Kubernetes client within reach, and we need only three verbs. Every call sets the
/// bearer token afresh (it rotates), retries once after a 401 with a re-read token, and reports
/// `backendtls_kube_request_duration_seconds`.
public final class KubeClient: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: Duration = .seconds(5)
        /// Lists and gets that take longer than this fail (on-demand gets pass their own, shorter limit).
        public var requestTimeout: Duration = .seconds(30)
        /// A list larger than this is refused rather than held in memory.
        public var maximumResponseBytes = 256 << 20
        /// Connections to the API server at most: the watches (one each) plus room for gets.
        public var maximumConnections = 64

        public init() {}
    }

    public let credentials: KubeCredentials
    let configuration: Configuration
    let http: HTTPClient
    /// Where the client reports its requests; the informers that use it report there too.
    public let metrics: KubeMetrics?
    let logger: Logger

    public init(
        credentials: KubeCredentials,
        configuration: Configuration = .init(),
        metrics: KubeMetrics? = nil,
        logger: Logger
    ) throws(KubeCredentialsError) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            if let ca = credentials.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let certificate = credentials.clientCertificatePEM, let key = credentials.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw KubeCredentialsError("\(credentials.origin): unreadable certificate or key: \(error)")
        }
        if credentials.insecureSkipTLSVerify { tls.certificateVerification = .none }
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: configuration.connectTimeout.timeAmount))
        // HTTP/1.1: one connection per watch keeps a stalled watch from holding up the other requests.
        http.httpVersion = .http1Only
        // Every watch holds a connection for minutes; the default of 8 per host would queue gets behind them.
        http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = configuration.maximumConnections
        http.decompression = .disabled
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        self.credentials = credentials
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// GETs one object or a list; `timeout` bounds the whole call, body included.
    /// - Parameter verb: `get` or `list`, for `backendtls_kube_request_duration_seconds`.
    public func get(_ path: String, query: [(String, String)] = [], timeout: Duration? = nil, verb: String = "get")
        async throws(KubeAPIError) -> JSONValue
    {
        let url = self.url(path, query)
        let description = "GET \(path)"
        let timeout = timeout ?? configuration.requestTimeout
        let maximum = configuration.maximumResponseBytes
        do {
            return try await withDeadline(timeout, description) { () async throws(KubeAPIError) -> JSONValue in
                // AsyncHTTPClient's own deadline comes later, so the caller always sees one message for a timeout.
                let response = try await self.send(
                    url, description: description, verb: verb, timeout: timeout + .seconds(1))
                let body: ByteBuffer
                do {
                    body = try await response.body.collect(upTo: maximum)
                } catch let error as NIOTooManyBytesError {
                    throw KubeAPIError(
                        .decoding, request: description, message: "larger than \(maximum) bytes: \(error)")
                } catch {
                    throw Self.transportError(error, description)
                }
                guard response.status == .ok else {
                    throw Self.statusError(response.status, Array(body.readableBytesView), description)
                }
                do {
                    return try body.withUnsafeReadableBytes { raw throws(JSONParseError) in
                        try JSONParser.parse(raw.assumingMemoryBound(to: UInt8.self))
                    }
                } catch {
                    throw KubeAPIError(.decoding, request: description, message: "\(error)")
                }
            }
        }
    }

    /// Opens a watch and feeds its events to `onEvent` until the server ends the stream (nil), an error
    /// event or failure ends it (thrown), or nothing arrives for `stallTimeout` (thrown, `.timeout`).
    ///
    /// Lines that do not decode go to `onUndecodable` and the stream goes on: one bad event is not fatal.
    public func watch(
        _ path: String,
        query: [(String, String)],
        stallTimeout: Duration,
        onOpen: @escaping @Sendable () -> Void = {},
        onEvent: @escaping @Sendable (WatchEvent) async throws -> Void,
        onUndecodable: @escaping @Sendable (WatchEventError) -> Void
    ) async throws {
        let url = self.url(path, query + [("watch", "1")])
        let description = "WATCH \(path)"
        let response = try await send(
            url, description: description, verb: "watch", timeout: configuration.requestTimeout)
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw Self.statusError(response.status, body, description)
        }
        // Open and healthy from here, even if nothing happens for minutes.
        onOpen()
        let lastActivity = ActivityClock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var splitter = WatchLineSplitter()
                // The handler's own errors (an ERROR event, a resync) pass through unchanged; only the
                // stream's failures become transport errors.
                var handlerError: (any Error)?
                do {
                    for try await chunk in response.body {
                        lastActivity.touch()
                        let lines: [ArraySlice<UInt8>]
                        do throws(WatchEventError) {
                            lines = try splitter.feed(chunk.readableBytesView)
                        } catch {
                            onUndecodable(error)
                            continue
                        }
                        for line in lines {
                            let event: WatchEvent
                            do throws(WatchEventError) {
                                event = try WatchEvent(line: line)
                            } catch {
                                onUndecodable(error)
                                continue
                            }
                            do {
                                try await onEvent(event)
                            } catch {
                                handlerError = error
                                throw error
                            }
                        }
                    }
                } catch  where handlerError != nil {
                    throw error
                } catch let error as KubeAPIError {
                    throw error
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    throw Self.transportError(error, description)
                }
            }
            group.addTask {
                // The watchdog: a watch that stays silent past the stall timeout is assumed dead.
                let tick = min(stallTimeout / 4, .seconds(1))
                while true {
                    try await Task.sleep(for: tick)
                    let silent = lastActivity.silence
                    if silent >= stallTimeout {
                        throw KubeAPIError(
                            .timeout, request: description,
                            message: "watch stalled: nothing received for \(silent)")
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func send(_ url: String, description: String, verb: String, timeout: Duration)
        async throws(KubeAPIError) -> HTTPClientResponse
    {
        var retried = false
        while true {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "accept", value: "application/json")
            request.headers.add(name: "user-agent", value: "backendtls")
            if let token = credentials.token {
                do {
                    request.headers.add(name: "authorization", value: "Bearer " + (try token.current()))
                } catch {
                    throw KubeAPIError(.credentials, request: description, message: error.description)
                }
            }
            let start = ContinuousClock.now
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: timeout.timeAmount)
            } catch {
                metrics?.requestDuration(verb: verb, code: "error").record(ContinuousClock.now - start)
                throw Self.transportError(error, description)
            }
            metrics?.requestDuration(verb: verb, code: String(response.status.code)).record(ContinuousClock.now - start)
            // A 401 with a rotating token: the file may hold a newer token than the one cached; try it once.
            if response.status == .unauthorized, let token = credentials.token, token.isRotating, !retried {
                _ = try? await response.body.collect(upTo: 1 << 20)
                token.invalidate()
                retried = true
                logger.info(
                    "API server refused the token; re-reading the token file", metadata: ["request": "\(description)"])
                continue
            }
            return response
        }
    }

    func url(_ path: String, _ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return credentials.server + path }
        let encoded = query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        return credentials.server + path + "?" + encoded
    }

    private static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func statusError(_ status: HTTPResponseStatus, _ body: [UInt8], _ description: String) -> KubeAPIError {
        // The API server answers errors with a metav1.Status: use its reason and message when present.
        let value = try? JSONParser.parse(body)
        let reason = value?["reason"]?.stringValue
        let message =
            value?["message"]?.stringValue
            ?? (body.isEmpty ? status.reasonPhrase : String(decoding: body.prefix(300), as: UTF8.self))
        return KubeAPIError(.status(code: Int(status.code), reason: reason), request: description, message: message)
    }

    static func transportError(_ error: any Error, _ description: String) -> KubeAPIError {
        if let error = error as? KubeAPIError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .tlsHandshakeTimeout:
                return KubeAPIError(.timeout, request: description, message: "timed out (\(error))")
            default:
                break
            }
        }
        return KubeAPIError(.transport, request: description, message: "\(error)")
    }

    static func capture<T: Sendable>(_ operation: @Sendable () async throws(KubeAPIError) -> T) async
        -> Result<T, KubeAPIError>
    {
        do {
            return .success(try await operation())
        } catch {
            return .failure(error)
        }
    }

    /// Bounds an operation, body included, by `timeout`: the caller never waits longer.
    func withDeadline<T: Sendable>(
        _ timeout: Duration,
        _ description: String,
        _ operation: @escaping @Sendable () async throws(KubeAPIError) -> T
    ) async throws(KubeAPIError) -> T {
        let result: Result<T, KubeAPIError> = await withTaskGroup(of: Result<T, KubeAPIError>?.self) { group in
            group.addTask { await Self.capture(operation) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return nil
                }
                return .failure(KubeAPIError(.timeout, request: description, message: "no answer within \(timeout)"))
            }
            let first = await group.next()!
            group.cancelAll()
            return first ?? .failure(KubeAPIError(.timeout, request: description, message: "cancelled"))
        }
        return try result.get()
    }
}

/// When a watch last received bytes; shared by the reader and its watchdog.
private final class ActivityClock: Sendable {
    private let last = Mutex(ContinuousClock.now)

    func touch() { last.withLock { $0 = .now } }

    var silence: Duration { ContinuousClock.now - last.withLock { $0 } }
}
