import NIOHTTP1

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): a proxy drops them, and
/// every header the `Connection` header names, before forwarding. `Upgrade` is among them because HTTP mode
/// relays HTTP/1.1 only; a backend that switched protocols would leave the relay unable to frame anything.
enum HopByHopHeaders {
    private static let fixed: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "upgrade",
    ]

    private static let framing: Set<String> = ["content-length", "transfer-encoding", "host"]

    /// Removes them from `headers`. Messages without any (most requests) are scanned once and not copied.
    static func remove(from headers: inout HTTPHeaders) {
        var names: Set<String> = []
        for (name, _) in headers where fixed.contains(name.lowercased()) {
            names.insert(name.lowercased())
        }
        guard !names.isEmpty else { return }
        // Framing and the Host are never taken as hop-by-hop, whatever `Connection` names: dropping them
        // would leave the backend reading a body as the next request.
        for token in headers[canonicalForm: "connection"] where !framing.contains(token.lowercased()) {
            names.insert(token.lowercased())
        }
        for name in names { headers.remove(name: name) }
    }
}
