import NIOHTTP1

/// The methods HTTP mode decides on, matched by case. `==` on `HTTPMethod` is `RawRepresentable`'s: it makes both
/// names as Strings and compares them, several times per request.
extension HTTPMethod {
    var isHEAD: Bool { if case .HEAD = self { true } else { false } }
    var isCONNECT: Bool { if case .CONNECT = self { true } else { false } }
    var isTRACE: Bool { if case .TRACE = self { true } else { false } }
    var isOPTIONS: Bool { if case .OPTIONS = self { true } else { false } }

    /// POST, PUT and PATCH: the methods whose request without framing headers gets a chunked body upstream.
    var sendsBody: Bool {
        switch self {
        case .POST, .PUT, .PATCH: true
        default: false
        }
    }
}
