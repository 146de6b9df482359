import BackendTLS
import Testing

struct JSONParserTests {
    @Test func keepsMemberOrderAndNumberText() throws {
        let value = try JSONParser.parse(#"{"b":1.50,"a":[true,false,null],"c":"x"}"#)
        #expect(value.objectValue?.keys == ["b", "a", "c"])
        #expect(value["b"] == .number("1.50"))
        #expect(JSONSerializer.serialize(value) == #"{"b":1.50,"a":[true,false,null],"c":"x"}"#)
    }

    @Test func decodesEscapesAndSurrogates() throws {
        let value = try JSONParser.parse(#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\né😀"))
        // A lone surrogate becomes U+FFFD, as Go's decoder does.
        #expect(try JSONParser.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }

    @Test func lastDuplicateKeyWins() throws {
        #expect(try JSONParser.parse(#"{"a":1,"a":2}"#) == ["a": 2])
    }

    @Test(arguments: [
        ("", JSONParseError.Kind.unexpectedEnd, 0),
        ("{", .unexpectedEnd, 1),
        (#"{"a" 1}"#, .unexpectedCharacter(UInt8(ascii: "1")), 5),
        ("[1,]", .unexpectedCharacter(UInt8(ascii: "]")), 3),
        ("01", .trailingData, 1),
        ("-", .invalidNumber, 1),
        ("1.", .invalidNumber, 2),
        ("1e", .invalidNumber, 2),
        (#""\x""#, .invalidEscape, 2),
        ("\"a\u{1}\"", .controlCharacterInString, 2),
        ("tru", .unexpectedEnd, 3),
        ("nul!", .unexpectedCharacter(UInt8(ascii: "!")), 3),
        ("{} {}", .trailingData, 3),
    ])
    func rejectsMalformedInput(_ text: String, _ kind: JSONParseError.Kind, _ offset: Int) {
        #expect(throws: JSONParseError(kind: kind, offset: offset)) { try JSONParser.parse(text) }
    }

    @Test func boundsNestingDepth() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONParser.parse(fine)) != nil)
    }

    @Test func errorDescriptionsNameTheOffset() {
        do {
            _ = try JSONParser.parse(#"{"a":}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "invalid JSON: unexpected character '}' at byte 5")
        }
    }

    @Test func serializerEscapesControlCharactersAndKeepsSlashes() {
        let value: JSONValue = ["k/x": "a\u{1}\"\n</script>"]
        #expect(JSONSerializer.serialize(value) == #"{"k/x":"a\u0001\"\n</script>"}"#)
    }

    @Test func typeNamesFollowOpenAPI() throws {
        #expect(try JSONParser.parse("1").typeName == "integer")
        #expect(try JSONParser.parse("1.5").typeName == "number")
        #expect(try JSONParser.parse("1e3").typeName == "number")
        #expect(try JSONParser.parse("\"x\"").typeName == "string")
        #expect(try JSONParser.parse("{}").typeName == "object")
    }
}

struct GoQuotingTests {
    @Test(arguments: [
        ("plain", #""plain""#),
        ("a\nb", #""a\nb""#),
        ("tab\there", #""tab\there""#),
        ("q\"uote\\", #""q\"uote\\""#),
        ("\u{7}", #""\a""#),
        ("\u{1}", #""\x01""#),
        ("é", #""é""#),
        ("\u{200B}", #""\u200b""#),
    ])
    func quotesLikeGo(_ input: String, _ expected: String) {
        #expect(GoQuoting.quote(input) == expected)
    }
}
