import NIOHTTP1

/// How a backend's response head is presented to the app: hop-by-hop headers dropped, and framed for the
/// HTTP version the app spoke (the sidecar always speaks HTTP/1.1 to backends).
enum ClientResponseHead {
    static func prepareInterim(_ head: inout HTTPResponseHead) {
        HopByHopHeaders.remove(from: &head.headers)
        if head.version != .http1_1 { head.version = .http1_1 }
    }

    /// - Parameter keepAlive: whether the app's connection stays open; cleared when only closing can end
    ///   the body.
    static func prepareFinal(_ head: inout HTTPResponseHead, http10Client: Bool, keepAlive: inout Bool) {
        HopByHopHeaders.remove(from: &head.headers)
        if http10Client {
            // No chunked coding in HTTP/1.0: a body without a length is ended by closing the connection.
            head.version = .http1_0
            head.headers.remove(name: "transfer-encoding")
            if !head.headers.contains(name: "content-length"), ![204, 304].contains(head.status.code) {
                keepAlive = false
            }
            if keepAlive { head.headers.add(name: "connection", value: "keep-alive") }
        } else if head.version != .http1_1 {
            head.version = .http1_1
        }
        if !keepAlive { head.headers.add(name: "connection", value: "close") }
    }
}
