/// Builders for the API server's field errors (`k8s.io/apimachinery/pkg/util/validation/field`).
///
/// The wording is the API server's (spec §3.6); upstream tests match substrings of it, so it must not drift.
public struct FieldErrors: Sendable {
    public let object: ObjectReference

    public init(object: ObjectReference) {
        self.object = object
    }

    public func required(_ path: String) -> Diagnostic {
        .error(.fieldValueRequired, path, object, "Required value")
    }

    public func invalid(
        _ path: String,
        value: String,
        _ detail: String,
        reason: Diagnostic.Reason = .fieldValueInvalid
    ) -> Diagnostic {
        .error(reason, path, object, "Invalid value: \(value): \(detail)")
    }

    public func invalid(
        _ path: String,
        string value: String,
        _ detail: String,
        reason: Diagnostic.Reason = .fieldValueInvalid
    ) -> Diagnostic {
        invalid(path, value: GoQuoting.quote(value), detail, reason: reason)
    }

    public func tooLong(_ path: String, limit: Int) -> Diagnostic {
        .error(.fieldValueTooLong, path, object, "Too long: may not be more than \(limit) bytes")
    }

    public func tooMany(_ path: String, count: Int, limit: Int) -> Diagnostic {
        .error(.fieldValueTooMany, path, object, "Too many: \(count): must have at most \(limit) items")
    }

    public func notSupported(_ path: String, value: String, supported: [String]) -> Diagnostic {
        let list = supported.map { GoQuoting.quote($0) }.joined(separator: ", ")
        return .error(
            .fieldValueNotSupported,
            path,
            object,
            "Unsupported value: \(GoQuoting.quote(value)): supported values: \(list)"
        )
    }

    public func typeInvalid(_ path: String, expected: String, actual: String) -> Diagnostic {
        .error(
            .fieldValueTypeInvalid,
            path,
            object,
            "Invalid value: \(GoQuoting.quote(actual)): \(path) in body must be of type \(expected): \(GoQuoting.quote(actual))"
        )
    }

    public func unknownField(_ path: String) -> Diagnostic {
        .error(.fieldValueUnknown, "", object, "unknown field \(GoQuoting.quote(path))")
    }

    /// A CEL rule failure: the path of the node that carries the rule, its type, and the rule's message.
    public func cel(_ path: String, nodeType: String, _ message: String) -> Diagnostic {
        .error(.fieldValueInvalid, path, object, "Invalid value: \(GoQuoting.quote(nodeType)): \(message)")
    }

    /// The line the API server appends when blocking errors kept CEL rules from running (spec §3.4).
    public func celSkipped() -> Diagnostic {
        .error(
            .fieldValueInvalid,
            "<nil>",
            object,
            "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
        )
    }
}
