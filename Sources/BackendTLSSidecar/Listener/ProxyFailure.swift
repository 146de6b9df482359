import BackendTLS
import NIOHTTP1

/// Why the sidecar refused to forward a request, rendered once for the response and the log (STYLE §6).
struct ProxyFailure: Error, Sendable {
    let status: Int
    /// A short machine-readable reason (`unknown_issuer`, `invalid_policy`, …), also in `x-backendtls-error`.
    let reason: String
    let policy: String?
    let message: String

    /// One line, no control characters: the `x-backendtls-error` header value.
    var headerValue: String {
        let text = [policy, reason, message].compactMap { $0 }.joined(separator: ": ")
        return String(
            text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }.prefix(1024))
    }

    var body: String {
        "backendtls-sidecar refused the request (\(status)): \(headerValue)\n"
    }

    /// The head of the refusal HTTP mode sends, with `body` as its body.
    func responseHead(keepAlive: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "x-backendtls-error", value: headerValue)
        if !keepAlive { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
    }

    static func resolution(_ failure: ResolutionFailure) -> ProxyFailure {
        ProxyFailure(
            status: 502, reason: failure.reason.rawValue, policy: failure.policy.map { "policy \($0.namespacedName)" },
            message: failure.message)
    }

    static func connect(_ failure: UpstreamConnector.ConnectFailure, policy: ObjectReference?) -> ProxyFailure {
        ProxyFailure(
            status: 502, reason: failure.verifyReason?.rawValue ?? failure.reason.rawValue,
            policy: policy.map { "policy \($0.namespacedName)" }, message: failure.message)
    }
}
