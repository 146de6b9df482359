import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

@Suite struct HopByHopHeadersTests {
    private static let fixed = [
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "TE", "Upgrade",
    ]

    @Test(arguments: fixed)
    func fixedNamesAreRemovedInAnyCase(name: String) {
        for spelling in [name, name.lowercased(), name.uppercased()] {
            var headers = HTTPHeaders([("Host", "a"), (spelling, "x"), ("Accept", "*/*")])
            HopByHopHeaders.remove(from: &headers)
            #expect(headers.map(\.name) == ["Host", "Accept"], "\(spelling)")
        }
    }

    /// Same lengths as fixed names, one letter off: compared as bytes, a wrong fold or a length-only match
    /// would drop them.
    @Test func namesThatOnlyLookAlikeAreKept() {
        let lookAlikes = [
            "ta", "upgrader", "connectiom", "keep_alive", "proxy-connectioN2", "proxy-authenticatf", "x-upgrade",
        ]
        var headers = HTTPHeaders(lookAlikes.map { ($0, "v") })
        HopByHopHeaders.remove(from: &headers)
        #expect(headers.map(\.name) == lookAlikes)
    }

    @Test func headersTheConnectionHeaderNamesAreRemoved() {
        var headers = HTTPHeaders([
            ("Connection", " X-Trace ,keep-alive"), ("connection", "X-Other"), ("X-Trace", "1"), ("x-other", "2"),
            ("X-Kept", "3"), ("Keep-Alive", "timeout=5"),
        ])
        HopByHopHeaders.remove(from: &headers)
        #expect(headers.map(\.name) == ["X-Kept"])
    }

    @Test func framingAndHostAreNeverTakenAsHopByHop() {
        var headers = HTTPHeaders([
            ("Connection", "Content-Length, Transfer-Encoding, HOST"), ("Host", "a"), ("Content-Length", "3"),
            ("Transfer-Encoding", "chunked"),
        ])
        HopByHopHeaders.remove(from: &headers)
        #expect(headers.map(\.name) == ["Host", "Content-Length", "Transfer-Encoding"])
    }

    @Test func messagesWithoutAnyAreLeftAlone() {
        let original = HTTPHeaders([("Host", "a"), ("Content-Length", "0"), ("X-Connection", "close")])
        var headers = original
        HopByHopHeaders.remove(from: &headers)
        #expect(headers == original)
    }
}
