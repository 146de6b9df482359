/// A failed API call, with what was asked and what the API server (or the network) said.
public struct KubeAPIError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The API server answered with an error status (its `Status.reason` and `message` when sent).
        case status(code: Int, reason: String?)
        /// The connection failed: refused, reset, TLS handshake, DNS.
        case transport
        /// No answer (or no progress on a watch) within the allowed time.
        case timeout
        /// The answer was not the JSON we asked for.
        case decoding
        /// The credentials could not be read (token file gone, unreadable).
        case credentials
    }

    public var kind: Kind
    /// `GET /api/v1/namespaces/x/configmaps/y`, for logs and admission warnings.
    public var request: String
    public var message: String

    public init(_ kind: Kind, request: String, message: String) {
        self.kind = kind
        self.request = request
        self.message = message
    }

    public var statusCode: Int? {
        if case .status(let code, _) = kind { return code }
        return nil
    }

    /// 410 Gone or a "too old resource version" Expired status: the informer must list again.
    public var isResourceVersionExpired: Bool {
        if case .status(let code, let reason) = kind { return code == 410 || reason == "Expired" || reason == "Gone" }
        return false
    }

    public var description: String {
        switch kind {
        case .status(let code, _): "\(request): HTTP \(code): \(message)"
        case .transport: "\(request): cannot reach the API server: \(message)"
        case .timeout: "\(request): \(message)"
        case .decoding: "\(request): unreadable answer: \(message)"
        case .credentials: "\(request): \(message)"
        }
    }
}
