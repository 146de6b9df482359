import BackendTLS
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BackendTLSWebhook

/// The admission handler on an `EmbeddedChannel`: HTTP request parts in, response parts out, no sockets.
struct AdmissionHTTPHandlerTests {
    struct Response {
        var head: HTTPResponseHead
        var body: [UInt8]

        var json: JSONValue? { try? JSONParser.parse(body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static let limits = WebhookConfiguration.Limits(maximumBodyBytes: 64 << 10, maximumHeaderBytes: 8 << 10)

    static func makeChannel(
        service: AdmissionService = WebhookFixtures.service(),
        limits: WebhookConfiguration.Limits = limits,
        streamReadTimeout: TimeAmount? = nil
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            AdmissionHTTPHandler(service: service, limits: limits, streamReadTimeout: streamReadTimeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8443)).wait()
        return channel
    }

    /// Writes one request; `body` goes in one chunk unless `chunks` splits it.
    static func send(
        _ channel: EmbeddedChannel,
        method: HTTPMethod = .POST,
        uri: String = "/validate",
        version: HTTPVersion = .http1_1,
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        declareLength: Bool = true,
        end: Bool = true
    ) throws {
        var fields = HTTPHeaders([("host", "webhook.example"), ("content-type", "application/json")] + headers)
        if declareLength, method == .POST { fields.add(name: "content-length", value: String(body.count)) }
        try channel.writeInbound(
            HTTPServerRequestPart.head(HTTPRequestHead(version: version, method: method, uri: uri, headers: fields)))
        if !body.isEmpty {
            try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: body)))
        }
        if end { try channel.writeInbound(HTTPServerRequestPart.end(nil)) }
    }

    /// Reads one whole response, or `nil` when the handler wrote nothing.
    static func readResponse(_ channel: EmbeddedChannel, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> Response?
    {
        guard let first = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        guard case .head(let head) = first else {
            Issue.record("expected a response head, got \(first)", sourceLocation: sourceLocation)
            return nil
        }
        var response = Response(head: head, body: [])
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .head(let other):
                Issue.record("a second head before .end: \(other)", sourceLocation: sourceLocation)
            case .body(.byteBuffer(let buffer)):
                response.body += Array(buffer.readableBytesView)
            case .body(let other):
                Issue.record("unexpected body part \(other)", sourceLocation: sourceLocation)
            case .end:
                return response
            }
        }
        Issue.record("response has no .end", sourceLocation: sourceLocation)
        return response
    }

    static func validPolicyReview(uid: String = "uid-valid") -> [UInt8] {
        WebhookFixtures.bytes(WebhookFixtures.review(uid: uid, object: WebhookFixtures.policy()))
    }

    /// A store that knows the policy's CA ConfigMap, so the policy is allowed.
    static func storeWithCA() throws -> MemoryObjectStore {
        let store = MemoryObjectStore()
        store.observe(
            admitted: try WebhookFixtures.request(object: WebhookFixtures.configMap()), now: WebhookFixtures.now)
        return store
    }

    @Test func validRequestIsAnsweredWithAnAdmissionReview() throws {
        let channel = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        try Self.send(channel, body: Self.validPolicyReview(uid: "uid-1234"))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .ok)
        #expect(response.head.version == .http1_1)
        #expect(response.head.headers["content-type"] == ["application/json"])
        #expect(response.head.headers["content-length"] == [String(response.body.count)])
        let json = try #require(response.json, "not JSON: \(response.text)")
        #expect(json["apiVersion"]?.stringValue == "admission.k8s.io/v1")
        #expect(json["kind"]?.stringValue == "AdmissionReview")
        #expect(json["response"]?["uid"]?.stringValue == "uid-1234")
        #expect(json["response"]?["allowed"] == .bool(true), "\(response.text)")
        #expect(json["response"]?["patch"] == nil)
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func v1beta1IsAnsweredInV1beta1() throws {
        let channel = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        let review = WebhookFixtures.review(
            uid: "uid-beta", object: WebhookFixtures.policy(), apiVersion: "admission.k8s.io/v1beta1")
        try Self.send(channel, body: WebhookFixtures.bytes(review))
        let json = try #require(try Self.readResponse(channel)?.json)
        #expect(json["apiVersion"]?.stringValue == "admission.k8s.io/v1beta1")
        #expect(json["response"]?["uid"]?.stringValue == "uid-beta")
        _ = try channel.finish()
    }

    @Test func deniedRequestIsStillHTTP200WithAStatus() throws {
        // An IP address cannot be the TLS server name: denied with a readable message.
        let channel = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        let review = WebhookFixtures.review(uid: "uid-deny", object: WebhookFixtures.policy(hostname: "10.96.12.34"))
        try Self.send(channel, body: WebhookFixtures.bytes(review))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .ok)
        let json = try #require(response.json)
        #expect(json["response"]?["uid"]?.stringValue == "uid-deny")
        #expect(json["response"]?["allowed"] == .bool(false))
        #expect(json["response"]?["status"]?["code"]?.intValue == 403)
        #expect(json["response"]?["status"]?["reason"]?.stringValue == "Forbidden")
        let message = json["response"]?["status"]?["message"]?.stringValue ?? ""
        #expect(message.contains("10.96.12.34"), "\(message)")
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func requestSplitIntoManyBodyChunksIsReassembled() throws {
        let body = Self.validPolicyReview(uid: "uid-chunks")
        let chunked = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        try Self.send(chunked, headers: [("transfer-encoding", "chunked")], declareLength: false, end: false)
        var index = body.startIndex
        while index < body.endIndex {
            let next = min(index + 100, body.endIndex)
            try chunked.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: body[index..<next])))
            index = next
        }
        #expect(try chunked.readOutbound(as: HTTPServerResponsePart.self) == nil, "answered before the end")
        try chunked.writeInbound(HTTPServerRequestPart.end(nil))
        let json = try #require(try Self.readResponse(chunked)?.json)
        #expect(json["response"]?["uid"]?.stringValue == "uid-chunks")
        #expect(json["response"]?["allowed"] == .bool(true))
        _ = try chunked.finish()
    }

    @Test func unknownPathIs404AndCloses() throws {
        let channel = try Self.makeChannel()
        try Self.send(channel, uri: "/nope", body: Self.validPolicyReview())
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .notFound)
        #expect(response.head.headers["connection"] == ["close"])
        #expect(response.json?["code"]?.intValue == 404)
        #expect(response.json?["error"]?.stringValue?.contains("/nope") == true)
        // The body and end of the refused request are dropped, not answered again.
        #expect(try Self.readResponse(channel) == nil)
        #expect(!channel.isActive)
    }

    @Test(arguments: ["/validate", "/mutate"])
    func getIs405(path: String) throws {
        let channel = try Self.makeChannel()
        try Self.send(channel, method: .GET, uri: path)
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .methodNotAllowed)
        #expect(response.json?["code"]?.intValue == 405)
        #expect(response.json?["error"]?.stringValue?.contains("GET") == true)
        #expect(!channel.isActive)
    }

    @Test func queryStringIsIgnoredByTheRoute() throws {
        let channel = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        try Self.send(channel, uri: "/validate?timeout=10s", body: Self.validPolicyReview(uid: "uid-query"))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .ok)
        #expect(response.json?["response"]?["uid"]?.stringValue == "uid-query")
        _ = try channel.finish()
    }

    @Test func declaredBodyOverTheLimitIs413BeforeTheBodyIsRead() throws {
        let limits = WebhookConfiguration.Limits(maximumBodyBytes: 1024, maximumHeaderBytes: 8 << 10)
        let channel = try Self.makeChannel(limits: limits)
        try Self.send(channel, headers: [("content-length", "4096")], declareLength: false, end: false)
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .payloadTooLarge)
        #expect(response.head.headers["connection"] == ["close"])
        #expect(response.json?["code"]?.intValue == 413)
        #expect(!channel.isActive)
    }

    @Test func chunkedBodyGrowingOverTheLimitIs413() throws {
        let limits = WebhookConfiguration.Limits(maximumBodyBytes: 1024, maximumHeaderBytes: 8 << 10)
        let channel = try Self.makeChannel(limits: limits)
        try Self.send(channel, headers: [("transfer-encoding", "chunked")], declareLength: false, end: false)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: UInt8(ascii: "x"), count: 1000)))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: UInt8(ascii: "x"), count: 100)))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .payloadTooLarge)
        #expect(!channel.isActive)
    }

    @Test func headersOverTheLimitAre431() throws {
        let limits = WebhookConfiguration.Limits(maximumBodyBytes: 1024, maximumHeaderBytes: 256)
        let channel = try Self.makeChannel(limits: limits)
        try Self.send(channel, headers: [("x-padding", String(repeating: "a", count: 300))], end: false)
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .requestHeaderFieldsTooLarge)
        #expect(!channel.isActive)
    }

    @Test func keepAliveConnectionStaysOpenForTheNextRequest() throws {
        let channel = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        for uid in ["uid-a", "uid-b", "uid-c"] {
            try Self.send(channel, body: Self.validPolicyReview(uid: uid))
            let response = try #require(try Self.readResponse(channel))
            #expect(response.head.status == .ok)
            #expect(response.head.headers["connection"].isEmpty)
            #expect(response.json?["response"]?["uid"]?.stringValue == uid)
            #expect(channel.isActive)
        }
        _ = try channel.finish()
    }

    @Test func connectionCloseIsAnsweredWithConnectionCloseAndCloses() throws {
        let channel = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        try Self.send(channel, headers: [("connection", "close")], body: Self.validPolicyReview(uid: "uid-close"))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .ok)
        #expect(response.head.headers["connection"] == ["close"])
        #expect(response.json?["response"]?["uid"]?.stringValue == "uid-close")
        #expect(!channel.isActive)
    }

    @Test func http10WithoutKeepAliveCloses() throws {
        let channel = try Self.makeChannel(service: WebhookFixtures.service(store: try Self.storeWithCA()))
        try Self.send(channel, version: .http1_0, body: Self.validPolicyReview())
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.headers["connection"] == ["close"])
        #expect(!channel.isActive)
    }

    @Test(arguments: [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (#"{"apiVersion":"v1","kind":"AdmissionReview","request":{}}"#, "apiVersion"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "no request"),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":""}}"#, "request.uid"),
        ("", "not valid JSON"),
    ])
    func malformedBodyIs400WithAJSONError(body: String, expected: String) throws {
        let channel = try Self.makeChannel()
        try Self.send(channel, body: Array(body.utf8))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .badRequest)
        #expect(response.head.headers["content-type"] == ["application/json"])
        let json = try #require(response.json, "error body is not JSON: \(response.text)")
        #expect(json["code"]?.intValue == 400)
        let message = try #require(json["error"]?.stringValue)
        #expect(message.contains(expected), "\(message)")
        // One bad request does not cost the connection: the next one is served.
        try Self.send(channel, body: Self.validPolicyReview(uid: "uid-after"))
        let next = try #require(try Self.readResponse(channel))
        #expect(next.head.status == .ok)
        #expect(next.json?["response"]?["uid"]?.stringValue == "uid-after")
        _ = try channel.finish()
    }

    @Test func streamReadTimeoutAnswers408() throws {
        let channel = try Self.makeChannel(streamReadTimeout: .seconds(5))
        try Self.send(channel, body: [], declareLength: false, end: false)
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .requestTimeout)
        #expect(!channel.isActive)
    }

    @Test func completeRequestCancelsTheStreamReadTimeout() throws {
        let channel = try Self.makeChannel(
            service: WebhookFixtures.service(store: try Self.storeWithCA()), streamReadTimeout: .seconds(5))
        try Self.send(channel, body: Self.validPolicyReview())
        #expect(try Self.readResponse(channel)?.head.status == .ok)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func mutateNeverAnswersWithAnErrorForAValidPolicy() throws {
        let channel = try Self.makeChannel()
        try Self.send(channel, uri: "/mutate", body: Self.validPolicyReview(uid: "uid-mutate"))
        let response = try #require(try Self.readResponse(channel))
        #expect(response.head.status == .ok)
        let json = try #require(response.json)
        #expect(json["response"]?["uid"]?.stringValue == "uid-mutate")
        #expect(json["response"]?["allowed"] == .bool(true))
        if json["response"]?["patch"] != nil {
            #expect(json["response"]?["patchType"]?.stringValue == "JSONPatch")
        }
        _ = try channel.finish()
    }
}
