import BackendTLS
import Testing

struct JSONPointerTests {
    @Test(arguments: [
        (["spec", "options", "backendtls.dev/x"], "/spec/options/backendtls.dev~1x"),
        (["a~b"], "/a~0b"),
        (["~1"], "/~01"),
        (["~/"], "/~0~1"),
        (["a/b~c/d"], "/a~1b~0c~1d"),
        (["", ""], "//"),
        ([], ""),
    ])
    func escapesTokensAndParsesBack(_ tokens: [String], _ text: String) throws {
        let pointer = JSONPointer(tokens)
        #expect(pointer.description == text)
        let parsed = try #require(JSONPointer(parsing: text))
        #expect(parsed.tokens == tokens)
        #expect(parsed == pointer)
    }

    @Test(arguments: ["spec/targetRefs", "/a~2", "/a~", "/~x/b"])
    func rejectsTextThatIsNotAPointer(_ text: String) {
        #expect(JSONPointer(parsing: text) == nil)
    }

    @Test func appendingKeepsTokensUnescaped() {
        let pointer = JSONPointer(["spec", "options"]).appending("backendtls.dev/min-tls-version")
        #expect(pointer.tokens == ["spec", "options", "backendtls.dev/min-tls-version"])
        #expect(pointer.description == "/spec/options/backendtls.dev~1min-tls-version")
    }

    @Test func patchWithEscapedTokenAddsTheLiteralKey() throws {
        let document = Fixtures.json(#"{"spec":{"options":{"a~b":"1"}}}"#)
        let patch = [
            JSONPatchOperation(op: .add, path: ["spec", "options", "backendtls.dev/x"], value: "y"),
            JSONPatchOperation(op: .replace, path: ["spec", "options", "a~b"], value: "2"),
        ]
        let text = JSONPatch.serialize(patch)
        #expect(text.contains(#""/spec/options/backendtls.dev~1x""#))
        #expect(text.contains(#""/spec/options/a~0b""#))
        let patched = try JSONPatch.apply(patch, to: document)
        #expect(patched == Fixtures.json(#"{"spec":{"options":{"a~b":"2","backendtls.dev/x":"y"}}}"#))
    }

    @Test func replaceOfAMissingMemberFails() {
        let document = Fixtures.json(#"{"spec":{}}"#)
        #expect(throws: JSONPatch.ApplyError.self) {
            try JSONPatch.apply([JSONPatchOperation(op: .replace, path: ["spec", "x"], value: "1")], to: document)
        }
    }
}
