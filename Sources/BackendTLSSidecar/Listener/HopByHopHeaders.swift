import NIOHTTP1

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): a proxy drops them, and
/// every header the `Connection` header names, before forwarding. `Upgrade` is among them because HTTP mode
/// relays HTTP/1.1 only; a backend that switched protocols would leave the relay unable to frame anything.
///
/// Names are compared as ASCII bytes, without lowercasing or hashing: this runs for every header of every
/// request and response, and lowercased copies with set lookups cost a tenth of the sidecar's own work per
/// request.
struct HopByHopHeaders {
    /// Names the message's `Connection` header adds, lowercased (usually none: `keep-alive` and `close`
    /// name nothing beyond the fixed set). A set: a head may list thousands.
    private var named: Set<String> = []

    /// Reads the `Connection` header of `headers`.
    init(_ headers: HTTPHeaders) {
        for (name, value) in headers where Self.equal(name, "connection") {
            // The usual values name nothing beyond the fixed set: no splitting, no lowercased copies.
            if Self.equal(value, "keep-alive") || Self.equal(value, "close") { continue }
            for token in value.split(separator: ",") {
                let trimmed = token.trimmingSpaces.lowercased()
                // Framing and the Host are never taken as hop-by-hop, whatever `Connection` names: dropping
                // them would leave the backend reading a body as the next request.
                guard !trimmed.isEmpty, !Self.isFixed(trimmed), !Self.framing.contains(trimmed) else { continue }
                named.insert(trimmed)
            }
        }
    }

    func contains(_ name: String) -> Bool {
        Self.isFixed(name) || (!named.isEmpty && named.contains(name.lowercased()))
    }

    private static let framing = ["content-length", "transfer-encoding", "host"]

    /// `connection`, `keep-alive`, `proxy-connection`, `proxy-authorization`, `proxy-authenticate`, `te`,
    /// `upgrade`, in any case; the length picks the one candidate.
    static func isFixed(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return equal(name, "te")
        case 7: return equal(name, "upgrade")
        case 10: return equal(name, "connection") || equal(name, "keep-alive")
        case 16: return equal(name, "proxy-connection")
        case 18: return equal(name, "proxy-authenticate")
        case 19: return equal(name, "proxy-authorization")
        default: return false
        }
    }

    /// ASCII case-insensitive comparison with a lowercase name.
    static func equal(_ name: String, _ lowercase: String) -> Bool {
        guard name.utf8.count == lowercase.utf8.count else { return false }
        var name = name
        var lowercase = lowercase
        return name.withUTF8 { a in
            lowercase.withUTF8 { b in
                guard a.count == b.count else { return false }
                for index in 0..<a.count {
                    let byte = a[index]
                    let folded = byte &- 0x41 < 26 ? byte | 0x20 : byte
                    if folded != b[index] { return false }
                }
                return true
            }
        }
    }
}

extension HTTPHeaders {
    /// Whether the connection stays open after this message, as NIO's `isKeepAlive` decides (any `close`, or
    /// `keep-alive` more than once, closes; HTTP/1.1 stays open unless told), without its lowercased copies of
    /// every `Connection` token for the usual single `keep-alive` or `close`.
    func keepsAlive(version: HTTPVersion) -> Bool {
        var keepAlives = 0
        for (name, value) in self where HopByHopHeaders.equal(name, "connection") {
            if HopByHopHeaders.equal(value, "close") { return false }
            guard HopByHopHeaders.equal(value, "keep-alive") else {
                // A list, or another token: NIO's rule (reached through a head, the only way it is public).
                return HTTPRequestHead(version: version, method: .GET, uri: "/", headers: self).isKeepAlive
            }
            keepAlives += 1
        }
        switch keepAlives {
        case 0: return version.major == 1 && version.minor >= 1
        case 1: return true
        default: return false
        }
    }
}

/// Trailer fields a proxy passes on: not framing, routing or connection fields (RFC 9110 6.5.1), which a
/// recipient could take for the message's own.
enum HTTPTrailers {
    static func mayForward(_ name: String) -> Bool {
        !HopByHopHeaders.isFixed(name) && !HopByHopHeaders.equal(name, "content-length")
            && !HopByHopHeaders.equal(name, "transfer-encoding") && !HopByHopHeaders.equal(name, "host")
            && !HopByHopHeaders.equal(name, "trailer")
    }
}
