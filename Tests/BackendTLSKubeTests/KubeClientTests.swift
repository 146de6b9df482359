import BackendTLS
import Foundation
import KubeTestServer
import Testing

@testable import BackendTLSKube

@Suite("Kubernetes client against the test API server")
struct KubeClientTests {
    @Test func getListAndFieldSelector() async throws {
        let bed = try await KubeTestbed()
        let client = try bed.client()
        bed.server.apply(KubeTestbed.service("web"))
        bed.server.apply(KubeTestbed.service("db"))
        bed.server.apply(KubeTestbed.service("web", namespace: "other"))
        let one = try await client.get(KubeResource.services.path(namespace: "apps", name: "web"))
        #expect(one["metadata"]?["name"]?.stringValue == "web")
        let list = try await client.get(KubeResource.services.path(namespace: nil))
        #expect(list["items"]?.arrayValue?.count == 3)
        #expect(list["metadata"]?["resourceVersion"]?.stringValue == "103")
        let selected = try await client.get(
            KubeResource.services.path(namespace: nil), query: [("fieldSelector", "metadata.name=web")])
        #expect(selected["items"]?.arrayValue?.count == 2)
        let missing = await #expect(throws: KubeAPIError.self) {
            try await client.get(KubeResource.configMaps.path(namespace: "apps", name: "nope"))
        }
        #expect(missing?.statusCode == 404)
        #expect(
            missing?.description
                == "GET /api/v1/namespaces/apps/configmaps/nope: HTTP 404: configmaps \"nope\" not found")
        await bed.cleanUp()
    }

    @Test func wrongTokenIsRefusedWithTheServersMessage() async throws {
        let bed = try await KubeTestbed()
        let client = try bed.client(token: "wrong")
        let error = await #expect(throws: KubeAPIError.self) { try await client.get("/api/v1/services") }
        #expect(error?.statusCode == 401)
        #expect(bed.server.requests.allSatisfy { !$0.authorized })
        await bed.cleanUp()
    }

    @Test func clientCertificateAuthentication() async throws {
        let bed = try await KubeTestbed(requireClientCertificate: true)
        let withCertificate = try bed.client(token: nil, clientCertificate: true)
        let list = try await withCertificate.get("/api/v1/services")
        #expect(list["kind"]?.stringValue == "ServiceList")
        // Without one, the TLS handshake itself fails: a transport error, not a hang.
        let without = try bed.client(token: "token-1")
        let error = await #expect(throws: KubeAPIError.self) { try await without.get("/api/v1/services") }
        #expect(error?.kind == .transport)
        await bed.cleanUp()
    }

    @Test func untrustedServerIsRefused() async throws {
        let bed = try await KubeTestbed()
        let credentials = KubeCredentials(
            server: bed.server.url, token: BearerTokenSource(token: "token-1"), origin: "test (system roots)")
        let client = bed.track(try KubeClient(credentials: credentials, logger: bed.logger))
        let error = await #expect(throws: KubeAPIError.self) { try await client.get("/api/v1/services") }
        #expect(error?.kind == .transport)
        #expect(bed.server.requests.isEmpty)
        await bed.cleanUp()
    }

    @Test func slowAnswersHitTheCallersTimeout() async throws {
        let bed = try await KubeTestbed()
        let client = try bed.client()
        bed.server.setResponseDelay(.seconds(10))
        let start = ContinuousClock.now
        let error = await #expect(throws: KubeAPIError.self) {
            try await client.get("/api/v1/namespaces/a/configmaps/b", timeout: .milliseconds(200))
        }
        #expect(error?.kind == .timeout)
        // Far below the server's 10 s, with room for a loaded CI machine.
        #expect(ContinuousClock.now - start < .seconds(3))
        await bed.cleanUp()
    }

    @Test func rotatedTokenIsReadAgainAfterA401() async throws {
        let bed = try await KubeTestbed()
        let (client, tokenFile) = try bed.clientWithTokenFile()
        _ = try await client.get("/api/v1/services")
        bed.server.rotateToken(to: "token-2")
        try "token-2".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        _ = try await client.get("/api/v1/services")
        let authorizations = bed.server.requests.map(\.authorized)
        // Accepted, refused with the old token, accepted with the re-read one.
        #expect(authorizations == [true, false, true])
        await bed.cleanUp()
    }

    @Test func discoveryPrefersV1AndFallsBack() async throws {
        let modern = try await KubeTestbed(servedPolicyVersions: ["v1", "v1alpha3"])
        let modernClient = try modern.client()
        #expect(try await PolicyVersionDiscovery.discover(using: modernClient) == "v1")
        let older = try await KubeTestbed(servedPolicyVersions: ["v1alpha3", "v1alpha2"])
        let olderClient = try older.client()
        #expect(try await PolicyVersionDiscovery.discover(using: olderClient) == "v1alpha3")
        let none = try await KubeTestbed(servedPolicyVersions: ["v1beta1"])
        let noneClient = try none.client()
        let error = await #expect(throws: PolicyVersionDiscovery.Failure.self) {
            try await PolicyVersionDiscovery.discover(using: noneClient)
        }
        #expect(error?.description.contains("none has backendtlspolicies") == true)
        for bed in [modern, older, none] { await bed.cleanUp() }
    }

    @Test func watchLinesSplitAcrossChunks() throws {
        var splitter = WatchLineSplitter(maximumLineBytes: 64)
        func feed(_ text: String) throws -> [String] {
            try splitter.feed(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(try feed(#"{"type":"ADD"#) == [])
        #expect(try feed("ED\",\"object\":{}}\n\n{\"type\":") == [#"{"type":"ADDED","object":{}}"#])
        #expect(try feed("\"BOOKMARK\",\"object\":{}}\n") == [#"{"type":"BOOKMARK","object":{}}"#])
        #expect(throws: WatchEventError.self) { try feed(String(repeating: "x", count: 65)) }
        // After an oversized line the splitter starts clean.
        #expect(try feed("{}\n") == ["{}"])
    }
}
