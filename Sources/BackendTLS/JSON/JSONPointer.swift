/// An RFC 6901 JSON Pointer, built from unescaped reference tokens.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var tokens: [String]

    public init(_ tokens: [String]) { self.tokens = tokens }
    public init(arrayLiteral elements: String...) { self.tokens = elements }

    public func appending(_ token: String) -> JSONPointer { JSONPointer(tokens + [token]) }

    /// `~` becomes `~0` and `/` becomes `~1`, in that order, so keys like `backendtls.dev/x` round-trip.
    public var description: String {
        tokens.map { "/" + $0.replacing("~", with: "~0").replacing("/", with: "~1") }.joined()
    }

    /// Parses `/a/b~1c`; `nil` when the text is not a pointer.
    public init?(parsing text: String) {
        if text.isEmpty {
            self.tokens = []
            return
        }
        guard text.hasPrefix("/") else { return nil }
        var tokens: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var iterator = raw.makeIterator()
            while let character = iterator.next() {
                if character == "~" {
                    switch iterator.next() {
                    case "0": token.append("~")
                    case "1": token.append("/")
                    default: return nil
                    }
                } else {
                    token.append(character)
                }
            }
            tokens.append(token)
        }
        self.tokens = tokens
    }
}
