import BackendTLSServerSupport
import BackendTLSSidecar
import Testing

struct ServiceAuthorityTests {
    @Test(arguments: [
        ("backend", "backend", "team", nil as Int?),
        ("backend:8443", "backend", "team", 8443),
        ("backend.prod", "backend", "prod", nil),
        ("backend.prod.svc:443", "backend", "prod", 443),
        ("backend.prod.svc.cluster.local:443", "backend", "prod", 443),
        ("Backend.Prod", "backend", "prod", nil),
    ])
    func parsesServiceNames(_ text: String, _ service: String, _ namespace: String, _ port: Int?) throws {
        let authority = try #require(ServiceAuthority(parsing: text, defaultNamespace: "team"))
        #expect(authority.service == service)
        #expect(authority.namespace == namespace)
        #expect(authority.port == port)
        #expect(authority.host == text.lowercased().split(separator: ":").first.map(String.init))
    }

    @Test(arguments: [
        "", "a.b.c.d.e", "backend:0", "backend:70000", "backend:x", ".prod", "api.example.com.evil.org",
        // A second reading of these (the text before the first colon, a resolver's) names another Service than
        // this one would: payments in billing, reached in plaintext with the policy of a namespace "billing:443".
        "payments.billing:443:443", "payments:0:443", "backend:", "backend:+443", "backend:123456",
        // Not Service names: an address, a label that is no DNS label.
        "2130706433:443", "[::1]:80", "127.0.0.1", "back_end", "-backend", "backend-", "backend.-prod", "user@backend",
        String(repeating: "a", count: 64),
    ])
    func rejectsNonServiceAuthorities(_ text: String) {
        #expect(ServiceAuthority(parsing: text, defaultNamespace: "team") == nil)
    }

    /// Labels at their limits still name Services: 63 characters, digits after the first letter, a numeric
    /// namespace.
    @Test(arguments: [String(repeating: "a", count: 63), "b2.0team", "a-1.x-y"])
    func acceptsLabelsAtTheirLimits(_ text: String) {
        #expect(ServiceAuthority(parsing: text, defaultNamespace: "team") != nil)
    }

    @Test func parsesRoutes() throws {
        let route = try #require(
            SidecarConfiguration.Route(parsing: "127.0.0.1:9443=backend.prod:443", defaultNamespace: "team"))
        #expect(route.listen.port == 9443)
        #expect(route.service == "backend")
        #expect(route.namespace == "prod")
        #expect(route.port == 443)
        #expect(SidecarConfiguration.Route(parsing: "127.0.0.1:9443=backend.prod", defaultNamespace: "team") == nil)
    }
}
