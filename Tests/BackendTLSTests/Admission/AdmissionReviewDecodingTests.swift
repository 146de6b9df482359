import BackendTLS
import Testing

private let policyObject =
    #"{"apiVersion":"gateway.networking.k8s.io/v1","kind":"BackendTLSPolicy","metadata":{"name":"x","namespace":"default"},"spec":{}}"#

private let policyKind = #"{"group":"gateway.networking.k8s.io","version":"v1","kind":"BackendTLSPolicy"}"#

/// An AdmissionReview body whose request members are given as JSON text, in order.
private func reviewBody(
    apiVersion: String? = "admission.k8s.io/v1", kind: String? = "AdmissionReview", request members: [String]
) -> String {
    var envelope: [String] = []
    if let apiVersion { envelope.append(#""apiVersion":"\#(apiVersion)""#) }
    if let kind { envelope.append(#""kind":"\#(kind)""#) }
    envelope.append(#""request":{\#(members.joined(separator: ","))}"#)
    return "{\(envelope.joined(separator: ","))}"
}

private let validMembers = [
    #""uid":"705ab4f5-6393-11e8-b7cc-42010a800002""#,
    #""kind":\#(policyKind)"#,
    #""resource":{"group":"gateway.networking.k8s.io","version":"v1","resource":"backendtlspolicies"}"#,
    #""name":"x""#,
    #""namespace":"default""#,
    #""operation":"CREATE""#,
    #""userInfo":{"username":"alice","groups":["system:authenticated","devs"]}"#,
    #""object":\#(policyObject)"#,
    #""dryRun":true"#,
]

/// `validMembers` with the member `key` replaced (or removed when `value` is nil).
private func members(replacing key: String, with value: String?) -> [String] {
    validMembers.compactMap { member in
        guard member.hasPrefix("\"\(key)\":") else { return member }
        return value.map { #""\#(key)":\#($0)"# }
    }
}

/// One malformed body, the error it must produce (`nil`: any `.malformedJSON`) and text its description must hold.
private struct MalformedReview: Sendable, CustomTestStringConvertible {
    let name: String
    let body: String
    let expected: AdmissionReviewError?
    let mentions: String

    var testDescription: String { name }
}

private let malformedReviews: [MalformedReview] = [
    MalformedReview(
        name: "truncated JSON", body: String(reviewBody(request: validMembers).dropLast(7)), expected: nil,
        mentions: "not valid JSON"),
    MalformedReview(name: "empty body", body: "", expected: nil, mentions: "not valid JSON"),
    MalformedReview(
        name: "trailing garbage", body: reviewBody(request: validMembers) + "}", expected: nil,
        mentions: "not valid JSON"),
    MalformedReview(
        name: "array body", body: "[\(reviewBody(request: validMembers))]", expected: .notAnObject("array"),
        mentions: "got array"),
    MalformedReview(
        name: "string body", body: #""AdmissionReview""#, expected: .notAnObject("string"), mentions: "JSON object"),
    MalformedReview(
        name: "wrong apiVersion", body: reviewBody(apiVersion: "admission.k8s.io/v2", request: validMembers),
        expected: .unsupportedAPIVersion("admission.k8s.io/v2"), mentions: #"apiVersion "admission.k8s.io/v2""#),
    MalformedReview(
        name: "missing apiVersion", body: reviewBody(apiVersion: nil, request: validMembers),
        expected: .unsupportedAPIVersion(nil), mentions: "apiVersion (missing)"),
    MalformedReview(
        name: "wrong kind", body: reviewBody(kind: "AdmissionResponse", request: validMembers),
        expected: .wrongKind("AdmissionResponse"), mentions: #"kind "AdmissionResponse""#),
    MalformedReview(
        name: "no request",
        body: #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"1","allowed":true}}"#,
        expected: .missingRequest, mentions: "no request"),
    MalformedReview(
        name: "null request", body: #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}"#,
        expected: .missingRequest, mentions: "no request"),
    MalformedReview(
        name: "request not an object",
        body: #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"CREATE"}"#,
        expected: .invalidField("request", expected: "expected an object, got string"), mentions: "request: "),
    MalformedReview(
        name: "missing uid", body: reviewBody(request: members(replacing: "uid", with: nil)),
        expected: .missingField("request.uid"), mentions: "request.uid: Required value"),
    MalformedReview(
        name: "empty uid", body: reviewBody(request: members(replacing: "uid", with: #""""#)),
        expected: .missingField("request.uid"), mentions: "request.uid"),
    MalformedReview(
        name: "uid not a string", body: reviewBody(request: members(replacing: "uid", with: "42")),
        expected: .invalidField("request.uid", expected: "expected a string, got integer"), mentions: "request.uid"),
    MalformedReview(
        name: "missing kind", body: reviewBody(request: members(replacing: "kind", with: nil)),
        expected: .missingField("request.kind"), mentions: "request.kind"),
    MalformedReview(
        name: "kind without kind.kind",
        body: reviewBody(request: members(replacing: "kind", with: #"{"group":"","version":"v1"}"#)),
        expected: .missingField("request.kind.kind"), mentions: "request.kind.kind"),
    MalformedReview(
        name: "missing operation", body: reviewBody(request: members(replacing: "operation", with: nil)),
        expected: .missingField("request.operation"), mentions: "request.operation"),
    MalformedReview(
        name: "bad operation", body: reviewBody(request: members(replacing: "operation", with: #""PATCH""#)),
        expected: .invalidField(
            "request.operation",
            expected: #"Unsupported value: "PATCH": supported values: "CREATE", "UPDATE", "DELETE", "CONNECT""#),
        mentions: "request.operation"),
    MalformedReview(
        name: "lower-case operation", body: reviewBody(request: members(replacing: "operation", with: #""create""#)),
        expected: .invalidField(
            "request.operation",
            expected: #"Unsupported value: "create": supported values: "CREATE", "UPDATE", "DELETE", "CONNECT""#),
        mentions: "request.operation"),
    MalformedReview(
        name: "dryRun not a boolean", body: reviewBody(request: members(replacing: "dryRun", with: #""true""#)),
        expected: .invalidField("request.dryRun", expected: "expected a boolean, got string"),
        mentions: "request.dryRun"),
    MalformedReview(
        name: "object not an object", body: reviewBody(request: members(replacing: "object", with: "[]")),
        expected: .invalidField("request.object", expected: "expected an object, got array"),
        mentions: "request.object"),
    MalformedReview(
        name: "oldObject not an object", body: reviewBody(request: validMembers + [#""oldObject":"x""#]),
        expected: .invalidField("request.oldObject", expected: "expected an object, got string"),
        mentions: "request.oldObject"),
    MalformedReview(
        name: "object kind differs from request kind",
        body: reviewBody(
            request: members(
                replacing: "object", with: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#)),
        expected: .objectKindMismatch(request: "BackendTLSPolicy", object: "ConfigMap"), mentions: "request.object"),
    MalformedReview(
        name: "CREATE without object", body: reviewBody(request: members(replacing: "object", with: nil)),
        expected: .missingField("request.object"), mentions: "request.object: Required value"),
    // Bug: `null` is not treated as absent (see deleteCarriesOldObject), so this reports the wrong error.
    MalformedReview(
        name: "UPDATE with null object",
        body: reviewBody(
            request: members(replacing: "object", with: "null").map {
                $0.hasPrefix(#""operation""#) ? #""operation":"UPDATE""# : $0
            }),
        expected: .missingField("request.object"), mentions: "request.object"),
    MalformedReview(
        name: "userInfo.username not a string",
        body: reviewBody(request: members(replacing: "userInfo", with: #"{"username":7}"#)),
        expected: .invalidField("request.userInfo.username", expected: "expected a string, got integer"),
        mentions: "request.userInfo.username"),
]

struct AdmissionReviewDecodingTests {
    @Test(arguments: AdmissionReview.supportedAPIVersions)
    func decodesEveryServedVersion(_ apiVersion: String) throws {
        let review = try AdmissionReview(bytes: Array(reviewBody(apiVersion: apiVersion, request: validMembers).utf8))
        #expect(review.apiVersion == apiVersion)
        let request = review.request
        #expect(request.uid == "705ab4f5-6393-11e8-b7cc-42010a800002")
        #expect(request.kind.group == "gateway.networking.k8s.io")
        #expect(request.kind.version == "v1")
        #expect(request.kind.kind == "BackendTLSPolicy")
        #expect(request.resource?.resource == "backendtlspolicies")
        #expect(request.name == "x")
        #expect(request.namespace == "default")
        #expect(request.operation == .create)
        #expect(request.userInfo.username == "alice")
        #expect(request.userInfo.groups == ["system:authenticated", "devs"])
        #expect(request.object == Fixtures.json(policyObject))
        #expect(request.oldObject == nil)
        #expect(request.dryRun)
    }

    @Test func deleteWithoutAnyObjectIsAccepted() throws {
        let body = reviewBody(
            request: members(replacing: "object", with: nil).map {
                $0.hasPrefix(#""operation""#) ? #""operation":"DELETE""# : $0
            })
        let review = try AdmissionReview(bytes: Array(body.utf8))
        #expect(review.request.operation == .delete)
        #expect(review.request.object == nil)
        #expect(review.request.oldObject == nil)
    }

    // Bug: `"object": null` / `"oldObject": null` are not treated as absent. The API server always sends
    // both members (RawExtension marshals an empty object as `null`), so a real DELETE review carries
    // `"object":null` and a real CREATE review `"oldObject":null`; both are rejected today with
    // "expected an object, got null" (AdmissionRequest.init: the `flatMap { $0 == .null ? nil : $0 }`
    // closure infers `JSONValue`, so `nil` becomes `JSONValue.null`, which is ExpressibleByNilLiteral).
    @Test func deleteCarriesOldObject() throws {
        let body = reviewBody(
            request: members(replacing: "object", with: "null").map {
                $0.hasPrefix(#""operation""#) ? #""operation":"DELETE""# : $0
            } + [#""oldObject":\#(policyObject)"#])
        let review = try AdmissionReview(bytes: Array(body.utf8))
        #expect(review.request.object == nil)
        #expect(review.request.oldObject == Fixtures.json(policyObject))
    }

    // Bug: see deleteCarriesOldObject; this is the body shape of every CREATE from a real API server.
    @Test func createWithNullOldObjectIsAccepted() throws {
        let body = reviewBody(request: validMembers + [#""oldObject":null"#])
        let review = try AdmissionReview(bytes: Array(body.utf8))
        #expect(review.request.object == Fixtures.json(policyObject))
        #expect(review.request.oldObject == nil)
    }

    @Test func optionalMembersDefault() throws {
        let body = reviewBody(request: [
            #""uid":"u""#, #""kind":{"kind":"ConfigMap"}"#, #""operation":"CREATE""#,
            #""object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
        ])
        let request = try AdmissionReview(bytes: Array(body.utf8)).request
        #expect(request.kind.group == "")
        #expect(request.resource == nil)
        #expect(request.name == "")
        #expect(request.userInfo.username == "")
        #expect(request.dryRun == false)
    }

    @Test(arguments: malformedReviews)
    fileprivate func rejectsMalformedReviews(_ testCase: MalformedReview) {
        let error = #expect(throws: AdmissionReviewError.self) {
            try AdmissionReview(bytes: Array(testCase.body.utf8))
        }
        guard let error else { return }
        if let expected = testCase.expected {
            #expect(error == expected)
        } else if case .malformedJSON = error {
        } else {
            Issue.record("expected .malformedJSON, got \(error)")
        }
        #expect(error.description.contains(testCase.mentions), "\(error.description)")
    }
}
