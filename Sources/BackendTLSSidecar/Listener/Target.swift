import BackendTLS
import NIOHTTP1

/// Where a request goes: the Service authority, the port, and the origin-form path to send upstream.
struct Target {
    let authority: ServiceAuthority
    let host: String
    let port: Int
    let path: String
    let hostHeader: String

    /// - Parameter known: the previous request's target on this connection; keep-alive clients repeat the
    ///   authority, so its parse is reused when the text is the same.
    static func parse(_ head: HTTPRequestHead, defaultNamespace: String, known: Target? = nil)
        -> Result<Target, ProxyFailure>
    {
        guard head.method != .CONNECT else {
            return .failure(
                ProxyFailure(
                    status: 501, reason: "connect_method", policy: nil,
                    message:
                        "CONNECT tunnels are not opened in HTTP mode; relay the bytes through a TCP route (--route)"))
        }
        var authorityText: String
        var path = head.uri
        if head.uri.hasPrefix("http://") {
            let rest = head.uri.dropFirst("http://".count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            authorityText = String(rest[..<slash])
            path = slash == rest.endIndex ? "/" : String(rest[slash...])
        } else if head.uri.hasPrefix("https://") {
            return .failure(
                ProxyFailure(
                    status: 400, reason: "https_request", policy: nil,
                    message: "send plain http:// requests; the sidecar originates TLS itself"))
        } else {
            guard let host = head.headers.first(name: "host") else {
                return .failure(
                    ProxyFailure(
                        status: 400, reason: "no_host", policy: nil,
                        message: "the request names no Service (no Host header)"))
            }
            authorityText = host
        }
        if let known, known.hostHeader == authorityText {
            return .success(
                Target(
                    authority: known.authority, host: known.host, port: known.port, path: path,
                    hostHeader: known.hostHeader))
        }
        guard let authority = ServiceAuthority(parsing: authorityText, defaultNamespace: defaultNamespace) else {
            return .failure(
                ProxyFailure(
                    status: 400, reason: "bad_authority", policy: nil,
                    message: "\(authorityText.debugDescription) is not SERVICE[.NAMESPACE[.svc[.cluster.local]]][:PORT]"
                ))
        }
        let host = String(authorityText.split(separator: ":").first ?? Substring(authorityText))
        return .success(
            Target(authority: authority, host: host, port: authority.port ?? 80, path: path, hostHeader: authorityText))
    }
}
