import NIOCore
import NIOHTTP1

@testable import BackendTLSSidecar

/// Feeds bytes and hands out every part they complete, as the proxy's handlers do.
extension UpstreamResponseParser {
    mutating func parse(_ bytes: ByteBuffer, emit: (HTTPClientResponsePart) -> Void) throws(HTTP1Syntax.Malformed) {
        receive(bytes)
        while let part = try next() { emit(part) }
    }
}

extension ClientRequestParser {
    mutating func parse(_ bytes: ByteBuffer, emit: (HTTPServerRequestPart) -> Void) throws(HTTP1Syntax.Malformed) {
        receive(bytes)
        while let part = try next() { emit(part) }
    }
}

extension ByteBuffer {
    /// Whether nothing else holds this buffer's storage: clearing a buffer held elsewhere moves it to new storage.
    mutating func isHeldOnlyHere() -> Bool {
        let before = withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        clear()
        return withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == before
    }
}
