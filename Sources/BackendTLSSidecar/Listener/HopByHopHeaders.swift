import NIOCore
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

    /// Reads the `Connection` fields of a head as it was read.
    init(_ head: HTTP1Head) {
        for field in head.fields where field.known == .connection {
            // The usual values name nothing beyond the fixed set: no splitting, no lowercased copies.
            if head.bytes(field.value, are: "keep-alive") || head.bytes(field.value, are: "close") { continue }
            for token in head.elements(of: field) where !token.isEmpty {
                let trimmed = head.text(token).lowercased()
                // The fixed names are dropped anyway; framing and the Host are never taken as hop-by-hop, whatever
                // `Connection` names: dropping them would leave the backend reading a body as the next request.
                guard HTTP1Head.KnownName(trimmed) == .other else { continue }
                named.insert(trimmed)
            }
        }
    }

    /// Whether a field of a head as it was read is hop-by-hop.
    func contains(_ field: HTTP1Head.Field, in head: HTTP1Head) -> Bool {
        field.known.isFixedHopByHop || (!named.isEmpty && named.contains(head.text(field.name).lowercased()))
    }

    /// ASCII case-insensitive comparison with a lowercase name.
    static func equal(_ name: String, _ lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        var name = name
        return name.withUTF8 { equal(UnsafeRawBufferPointer($0)[...], lowercase) }
    }

    /// ASCII case-insensitive comparison of bytes with a lowercase name (a literal: its bytes are at hand, where a
    /// String's are behind a check of its form).
    static func equal(_ name: UnsafeRawBufferPointer.SubSequence, _ lowercase: StaticString) -> Bool {
        guard name.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        let bytes = name.base
        var index = name.startIndex
        while index < name.endIndex {
            let byte = bytes[index]
            let folded = byte &- 0x41 < 26 ? byte | 0x20 : byte
            if folded != expected[index - name.startIndex] { return false }
            index += 1
        }
        return true
    }
}

/// Trailer fields a proxy passes on: not framing, routing or connection fields (RFC 9110 6.5.1), which a
/// recipient could take for the message's own.
enum HTTPTrailers {
    static func mayForward(_ field: HTTP1Head.Field, in trailers: HTTP1Head) -> Bool {
        // Every known name is one of them (`HTTP1Head.KnownName`), and `Trailer` too.
        field.known == .other && !trailers.bytes(field.name, are: "trailer")
    }
}
