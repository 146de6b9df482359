import BackendTLS
import NIOHTTP1

/// Where a request goes: the Service authority, the port, and the origin-form path to send upstream.
struct Target {
    let authority: ServiceAuthority
    let port: Int
    let path: String
    let hostHeader: String
    /// The request named its target in absolute form: the authority is the URI's, and the backend gets it as
    /// `Host` in place of the client's (RFC 9112 3.2.2).
    let absoluteForm: Bool

    /// - Parameter known: the previous request's target on this connection; keep-alive clients repeat the
    ///   authority, so its parse is reused when the text is the same.
    static func parse(_ head: ClientRequestHead, defaultNamespace: String, known: Target? = nil)
        -> Result<Target, ProxyFailure>
    {
        guard !head.method.isCONNECT else {
            return .failure(
                ProxyFailure(
                    status: 501, reason: "connect_method", policy: nil,
                    message:
                        "CONNECT tunnels are not opened in HTTP mode; relay the bytes through a TCP route (--route)"))
        }
        var authorityText: String
        var path = head.uri
        let absoluteForm = head.uri.hasCaseInsensitivePrefix("http://")
        if absoluteForm {
            let rest = head.uri.utf8.dropFirst("http://".count)
            let end = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
            authorityText = String(Substring(rest[..<end]))
            // An empty path is `/`, or for OPTIONS `*` (RFC 9112 3.2.1, 3.2.4).
            let pathAndQuery = String(Substring(rest[end...]))
            if pathAndQuery.isEmpty {
                path = head.method.isOPTIONS ? "*" : "/"
            } else {
                path = pathAndQuery.hasPrefix("?") ? "/" + pathAndQuery : pathAndQuery
            }
        } else if head.uri.hasCaseInsensitivePrefix("https://") {
            return .failure(
                ProxyFailure(
                    status: 400, reason: "https_request", policy: nil,
                    message: "send plain http:// requests; the sidecar originates TLS itself"))
        } else if head.uri.utf8.first != UInt8(ascii: "/") && !(head.uri == "*" && head.method.isOPTIONS) {
            // Another scheme's absolute form: its authority, not `Host`, names the target (RFC 9112 3.2.2), and
            // forwarding it verbatim would let the backend read a target other than the one routed by.
            return .failure(
                ProxyFailure(
                    status: 400, reason: "bad_request_target", policy: nil,
                    message:
                        "request target \(head.uri.prefix(100).debugDescription) is neither a path nor an http:// URI"))
        } else {
            // The usual keep-alive request repeats the last one's Host: compared as bytes, with no String made.
            if let known, let field = head.hostField, head.lines.bytes(field.value, equal: known.hostHeader) {
                return .success(known.with(path: path, absoluteForm: false))
            }
            guard let host = head.host else {
                return .failure(
                    ProxyFailure(
                        status: 400, reason: "no_host", policy: nil,
                        message: "the request names no Service (no Host header)"))
            }
            authorityText = host
        }
        if let known, known.hostHeader == authorityText {
            return .success(known.with(path: path, absoluteForm: absoluteForm))
        }
        guard let authority = ServiceAuthority(parsing: authorityText, defaultNamespace: defaultNamespace) else {
            return .failure(
                ProxyFailure(
                    status: 400, reason: "bad_authority", policy: nil,
                    message: "\(authorityText.debugDescription) is not SERVICE[.NAMESPACE[.svc[.cluster.local]]][:PORT]"
                ))
        }
        return .success(
            Target(
                authority: authority, port: authority.port ?? 80, path: path, hostHeader: authorityText,
                absoluteForm: absoluteForm))
    }
}

extension Target {
    /// Where to connect without the Service's clusterIP: the parsed authority's DNS name, never a second reading.
    var host: String { authority.host }

    /// The same authority for another request.
    fileprivate func with(path: String, absoluteForm: Bool) -> Target {
        Target(authority: authority, port: port, path: path, hostHeader: hostHeader, absoluteForm: absoluteForm)
    }
}

extension String {
    /// ASCII letters compared without case (URI schemes are case-insensitive, RFC 3986 3.1).
    fileprivate func hasCaseInsensitivePrefix(_ prefix: String) -> Bool {
        utf8.count >= prefix.utf8.count
            && zip(utf8, prefix.utf8).allSatisfy { a, b in (a >= 0x41 && a <= 0x5A ? a | 0x20 : a) == b }
    }
}
