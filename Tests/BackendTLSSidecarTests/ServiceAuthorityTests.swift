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
    }

    @Test(arguments: ["", "a.b.c.d.e", "backend:0", "backend:70000", "backend:x", ".prod", "api.example.com.evil.org"])
    func rejectsNonServiceAuthorities(_ text: String) {
        #expect(ServiceAuthority(parsing: text, defaultNamespace: "team") == nil)
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
