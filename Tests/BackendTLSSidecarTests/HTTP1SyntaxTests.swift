import Testing

@testable import BackendTLSSidecar

/// The byte tests the parsers run on every byte of a head, against their definitions.
@Suite struct HTTP1SyntaxTests {
    @Test func tokenBytesAreExactlyTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HTTP1Syntax.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
    }

    /// The memchr search finds what the standard library's search finds, in any part of a buffer.
    @Test func firstIndexAgreesWithTheStandardLibrary() {
        let bytes: [UInt8] = Array("ab:c\r\nd:\r\n\r\n::".utf8)
        bytes.withUnsafeBytes { raw in
            for start in 0...raw.count {
                for end in start...raw.count {
                    let slice = raw[start..<end]
                    for byte in [UInt8(ascii: ":"), 0x0D, 0x0A, UInt8(ascii: "z")] {
                        #expect(HTTP1Syntax.firstIndex(of: byte, in: slice) == slice.firstIndex(of: byte))
                    }
                }
            }
        }
    }
}
