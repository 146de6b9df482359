import NIOHTTP1
import Testing

@testable import BackendTLSSidecar

@Suite struct HopByHopHeadersTests {
    /// The names a proxy forwards.
    private func kept(_ headers: HTTPHeaders) throws -> [String] {
        let head = try HTTP1Head(request: headers)
        let hopByHop = HopByHopHeaders(head)
        return head.fields.filter { !hopByHop.contains($0, in: head) }.map { head.text($0.name) }
    }

    private static let fixed = [
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "TE", "Upgrade",
    ]

    @Test(arguments: fixed)
    func fixedNamesAreRemovedInAnyCase(name: String) throws {
        for spelling in [name, name.lowercased(), name.uppercased()] {
            let headers = HTTPHeaders([("Host", "a"), (spelling, "x"), ("Accept", "*/*")])
            #expect(try kept(headers) == ["Host", "Accept"], "\(spelling)")
        }
    }

    /// Same lengths as fixed names, one letter off: compared as bytes, a wrong fold or a length-only match
    /// would drop them.
    @Test func namesThatOnlyLookAlikeAreKept() throws {
        let lookAlikes = [
            "ta", "upgrader", "connectiom", "keep_alive", "proxy-connectioN2", "proxy-authenticatf", "x-upgrade",
        ]
        let headers = HTTPHeaders(lookAlikes.map { ($0, "v") })
        #expect(try kept(headers) == lookAlikes)
    }

    @Test func headersTheConnectionHeaderNamesAreRemoved() throws {
        let headers = HTTPHeaders([
            ("Connection", " X-Trace ,keep-alive"), ("connection", "X-Other"), ("X-Trace", "1"), ("x-other", "2"),
            ("X-Kept", "3"), ("Keep-Alive", "timeout=5"),
        ])
        #expect(try kept(headers) == ["X-Kept"])
    }

    /// The `Connection` list is split on the comma byte, whatever character comes before it.
    @Test func connectionTokensAreSplitOnTheCommaByte() throws {
        let headers = HTTPHeaders([("Connection", "x-a\u{0600},X-B"), ("X-B", "1"), ("X-C", "2")])
        #expect(try kept(headers) == ["X-C"])
    }

    @Test func framingAndHostAreNeverTakenAsHopByHop() throws {
        let headers = HTTPHeaders([
            ("Connection", "Content-Length, Transfer-Encoding, HOST"), ("Host", "a"), ("Content-Length", "3"),
            ("Transfer-Encoding", "chunked"),
        ])
        #expect(try kept(headers) == ["Host", "Content-Length", "Transfer-Encoding"])
    }

    @Test func messagesWithoutAnyAreLeftAlone() throws {
        let headers = HTTPHeaders([("Host", "a"), ("Content-Length", "0"), ("X-Connection", "close")])
        #expect(try kept(headers) == ["Host", "Content-Length", "X-Connection"])
    }
}

/// The fast keep-alive rule decides as NIO's does, on the usual values and on the ones it leaves to NIO.
@Suite struct KeepAliveTests {
    @Test(arguments: [
        [], ["keep-alive"], ["Keep-Alive"], ["close"], ["CLOSE"], ["keep-alive", "keep-alive"],
        ["keep-alive", "close"],
        ["close", "keep-alive"], ["keep-alive, close"], ["Upgrade, keep-alive"], ["x-hop"], ["", "close"],
    ])
    func decidesAsNIODoes(connection: [String]) throws {
        for version in [HTTPVersion.http1_0, .http1_1] {
            let headers = HTTPHeaders([("Host", "a")] + connection.map { ("Connection", $0) })
            let nio = HTTPRequestHead(version: version, method: .GET, uri: "/", headers: headers).isKeepAlive
            #expect(try HTTP1Head(request: headers).keepsAlive(version: version) == nio, "\(connection) \(version)")
        }
    }
}
