import BackendTLS
import Foundation
import Testing

private let subject = ObjectReference(kind: "BackendTLSPolicy", namespace: "default", name: "x")

private func error(_ field: String, _ message: String) -> Diagnostic {
    .error(.invalid, field, subject, message)
}

private func warning(_ message: String, field: String = "spec.validation.hostname") -> Diagnostic {
    .warning(.hostnameNotIdentity, field, subject, message)
}

/// What the API server refuses in a warning (Go `unicode.IsControl`: C0, DEL and C1).
private func hasControlCharacter(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0.properties.generalCategory == .control }
}

struct AdmissionResponseTests {
    // MARK: Denial message

    @Test func singleErrorMessageNamesObjectFieldAndMessage() {
        let response = AdmissionResponse(
            uid: "u",
            decision: AdmissionDecision(diagnostics: [error("spec.validation.hostname", "bad host")], handled: true))
        #expect(!response.allowed)
        #expect(response.message == "BackendTLSPolicy default/x is invalid: spec.validation.hostname: bad host")
    }

    @Test func multipleErrorsAreListedOnePerLineWithTheirCount() {
        let response = AdmissionResponse(
            uid: "u",
            decision: AdmissionDecision(
                diagnostics: [
                    error("spec.targetRefs[0].group", "Required value"), warning("only a warning"),
                    error("spec.validation.hostname", "bad host"), error("", "object-level problem"),
                ],
                handled: true))
        #expect(
            response.message == """
                BackendTLSPolicy default/x is invalid (3 errors):
                - spec.targetRefs[0].group: Required value
                - spec.validation.hostname: bad host
                - object-level problem
                """)
        #expect(response.warnings == ["spec.validation.hostname: only a warning"])
    }

    @Test func warningsAloneAllow() {
        let response = AdmissionResponse(
            uid: "u", decision: AdmissionDecision(diagnostics: [warning("w")], handled: true))
        #expect(response.allowed)
        #expect(response.message == nil)
        #expect(response.warnings == ["spec.validation.hostname: w"])
    }

    // MARK: Warnings

    // Bug: C1 controls (U+0080–U+009F, e.g. NEL U+0085, CSI U+009B) pass `sanitize`, which only replaces
    // < 0x20 and 0x7F; the API server's NewWarningHeader rejects any unicode.IsControl rune and drops the warning.
    @Test(arguments: ["\n", "\r\n", "\t", "\u{0}", "\u{1B}[31m", "\u{7F}", "\u{85}", "\u{9B}"])
    func warningsCarryNoControlCharacters(_ control: String) {
        let response = AdmissionResponse(
            uid: "u",
            decision: AdmissionDecision(diagnostics: [warning("first line\(control)second line")], handled: true))
        let text = response.warnings.first ?? ""
        #expect(!hasControlCharacter(text), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        #expect(text.hasPrefix("spec.validation.hostname: first line"))
        #expect(text.hasSuffix("second line"))
    }

    @Test(arguments: [
        String(repeating: "a", count: 1_000),
        String(repeating: "é", count: 300),
        String(repeating: "🇩🇪", count: 100),
        String(repeating: "x", count: 230) + "\n" + String(repeating: "ü", count: 40),
    ])
    func longWarningsAreCutTo256UTF8Bytes(_ message: String) {
        let response = AdmissionResponse(
            uid: "u", decision: AdmissionDecision(diagnostics: [warning(message)], handled: true))
        let text = response.warnings.first ?? ""
        #expect(text.utf8.count <= AdmissionResponse.maximumWarningLength)
        #expect(text.utf8.count > AdmissionResponse.maximumWarningLength - 16)
        #expect(text.hasSuffix("…"))
        #expect(!hasControlCharacter(text))
    }

    @Test func warningOfExactlyTheLimitIsKept() {
        let field = "spec.validation.hostname: "
        let message = String(repeating: "a", count: AdmissionResponse.maximumWarningLength - field.utf8.count)
        let response = AdmissionResponse(
            uid: "u", decision: AdmissionDecision(diagnostics: [warning(message)], handled: true))
        #expect(response.warnings == [field + message])
    }

    @Test(
        arguments: [(6, 6, nil), (7, 6, "2 more warnings"), (9, 6, "4 more warnings"), (2, 2, nil)]
            as [(Int, Int, String?)])
    func atMostSixWarningsWithOverflowText(_ count: Int, _ shown: Int, _ overflow: String?) {
        let diagnostics = (1...count).map { warning("warning \($0)", field: "") }
        let response = AdmissionResponse(uid: "u", decision: AdmissionDecision(diagnostics: diagnostics, handled: true))
        #expect(response.warnings.count == shown)
        #expect(response.warnings.count <= AdmissionResponse.maximumWarnings)
        if let overflow {
            #expect(response.warnings.dropLast() == (1..<shown).map { "warning \($0)" })
            #expect(response.warnings.last == "\(overflow); run `backendtls lint` on the manifest to see all")
        } else {
            #expect(response.warnings == (1...count).map { "warning \($0)" })
        }
    }

    // MARK: Review rendering

    @Test(arguments: AdmissionReview.supportedAPIVersions)
    func reviewEchoesUIDAndAPIVersionAndDenies(_ apiVersion: String) throws {
        let response = AdmissionResponse(
            uid: "705ab4f5", decision: AdmissionDecision(diagnostics: [error("spec.x", "bad")], handled: true))
        let review = response.review(apiVersion: apiVersion)
        #expect(review["apiVersion"] == .string(apiVersion))
        #expect(review["kind"] == "AdmissionReview")
        let body = try #require(review["response"])
        #expect(body["uid"] == "705ab4f5")
        #expect(body["allowed"] == false)
        let status = try #require(body["status"])
        #expect(status["code"]?.intValue == 403)
        #expect(status["reason"] == "Forbidden")
        #expect(status["status"] == "Failure")
        #expect(status["message"] == "BackendTLSPolicy default/x is invalid: spec.x: bad")
        #expect(body["patch"] == nil)
        #expect(body["patchType"] == nil)
        #expect(body["warnings"] == nil)
    }

    @Test func allowedReviewHasNoStatusAndCarriesWarnings() {
        let review = AdmissionResponse(
            uid: "u", decision: AdmissionDecision(diagnostics: [warning("w")], handled: true)
        )
        .review(apiVersion: "admission.k8s.io/v1")
        #expect(review["response"]?["allowed"] == true)
        #expect(review["response"]?["status"] == nil)
        #expect(review["response"]?["warnings"] == ["spec.validation.hostname: w"])
    }

    @Test func patchIsBase64JSONPatch() throws {
        let patch = [
            JSONPatchOperation(op: .add, path: ["spec", "targetRefs", "0", "group"], value: ""),
            JSONPatchOperation(op: .replace, path: ["spec", "options", "backendtls.dev/x"], value: "y"),
        ]
        let response = AdmissionResponse(uid: "u", decision: AdmissionDecision(patch: patch, handled: true))
        #expect(response.allowed)
        let body = try #require(response.review(apiVersion: "admission.k8s.io/v1beta1")["response"])
        #expect(body["patchType"] == "JSONPatch")
        let encoded = try #require(body["patch"]?.stringValue)
        let decoded = try #require(Data(base64Encoded: encoded))
        #expect(
            try JSONParser.parse(Array(decoded))
                == Fixtures.json(
                    #"[{"op":"add","path":"/spec/targetRefs/0/group","value":""},{"op":"replace","path":"/spec/options/backendtls.dev~1x","value":"y"}]"#
                ))
    }

    @Test func decodeEvaluateRenderRoundTrip() throws {
        let body = #"""
            {"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"abc-123",
             "kind":{"group":"gateway.networking.k8s.io","version":"v1","kind":"BackendTLSPolicy"},"operation":"CREATE",
             "object":{"apiVersion":"gateway.networking.k8s.io/v1","kind":"BackendTLSPolicy","metadata":{"name":"x","namespace":"default"},
               "spec":{"targetRefs":[{"kind":"Service","name":"backend"}],"validation":{"hostname":"b.example.com","wellKnownCACertificates":"System"}}}}}
            """#
        let review = try AdmissionReview(bytes: Array(body.utf8))
        let decision = AdmissionEvaluator(configuration: .init())
            .evaluate(review.request, endpoint: .mutate, context: Fixtures.context())
        let rendered = AdmissionResponse(uid: review.request.uid, decision: decision).review(
            apiVersion: review.apiVersion)
        #expect(rendered["apiVersion"] == "admission.k8s.io/v1beta1")
        #expect(rendered["response"]?["uid"] == "abc-123")
        #expect(rendered["response"]?["patchType"] == "JSONPatch")
    }
}
