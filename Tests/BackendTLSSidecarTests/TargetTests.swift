import NIOCore
import Testing

@testable import BackendTLSSidecar

/// A keep-alive client's next request reuses the last target's parse only when its `Host` is the same bytes.
@Suite struct TargetTests {
    private func target(_ host: String, path: String = "/", known: Target? = nil) throws -> Target {
        let head = try ClientRequestHead.read(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n"))
        return try Target.parse(head, defaultNamespace: "default", known: known).get()
    }

    @Test func sameHostReusesTheParseWithTheNewPath() throws {
        let first = try target("svc-a.ns1:8080", path: "/x")
        let second = try target("svc-a.ns1:8080", path: "/y", known: first)
        #expect(second.authority == first.authority)
        #expect(second.port == 8080)
        #expect(second.path == "/y")
        #expect(!second.absoluteForm)
    }

    /// Another Service, or the same one on another port, is parsed anew (one byte apart included).
    @Test func otherHostIsParsedAnew() throws {
        let first = try target("svc-a.ns1:8080")
        let other = try target("svc-b:9090", known: first)
        #expect(other.authority == ServiceAuthority(parsing: "svc-b:9090", defaultNamespace: "default"))
        #expect(other.port == 9090)
        let nextPort = try target("svc-a.ns1:8081", known: first)
        #expect(nextPort.port == 8081)
        #expect(nextPort.hostHeader == "svc-a.ns1:8081")
    }

    /// The connect host is the parsed authority's, never a second reading of the text.
    @Test func connectHostIsTheParsedAuthoritysName() throws {
        let parsed = try target("Payments.Billing:8443")
        #expect(parsed.host == "payments.billing")
        #expect(parsed.authority.namespace == "billing")
    }

    /// Another scheme's absolute form names its target by its own authority (RFC 9112 3.2.2), which routing by
    /// `Host` would not have checked: refused, not forwarded.
    @Test(arguments: ["ftp://other.example/x", "ws://payments.billing/"])
    func requestTargetOfAnotherFormIsRefused(_ uri: String) throws {
        let head = try ClientRequestHead.read(ByteBuffer(string: "GET \(uri) HTTP/1.1\r\nHost: backend\r\n"))
        guard case .failure(let failure) = Target.parse(head, defaultNamespace: "default") else {
            Issue.record("\(uri) was routed")
            return
        }
        #expect(failure.status == 400)
        #expect(failure.reason == "bad_request_target")
    }
}
