#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The answer to one AdmissionReview, rendered from diagnostics in one place (STYLE §6).
public struct AdmissionResponse: Sendable, Hashable {
    public var uid: String
    public var allowed: Bool
    /// One readable message built from every error, shown by kubectl after "denied the request:".
    public var message: String?
    public var warnings: [String]
    public var patch: [JSONPatchOperation]

    /// The API server drops warnings with control characters and truncates long ones; we keep them short.
    public static let maximumWarnings = 6
    public static let maximumWarningLength = 256

    public init(
        uid: String, allowed: Bool, message: String? = nil, warnings: [String] = [], patch: [JSONPatchOperation] = []
    ) {
        self.uid = uid
        self.allowed = allowed
        self.message = message
        self.warnings = warnings
        self.patch = patch
    }

    public init(uid: String, decision: AdmissionDecision) {
        let errors = decision.diagnostics.filter(\.isError)
        let warnings = decision.diagnostics.filter { !$0.isError }
        self.init(
            uid: uid,
            allowed: errors.isEmpty,
            message: errors.isEmpty ? nil : Self.denialMessage(errors),
            warnings: Self.warningTexts(warnings),
            patch: decision.patch
        )
    }

    static func denialMessage(_ errors: [Diagnostic]) -> String {
        let object = errors[0].object
        let subject = "\(object.kind) \(object.namespacedName)"
        if errors.count == 1 { return "\(subject) is invalid: \(errors[0].detail)" }
        return "\(subject) is invalid (\(errors.count) errors):\n"
            + errors.map { "- \($0.detail)" }.joined(separator: "\n")
    }

    static func warningTexts(_ warnings: [Diagnostic]) -> [String] {
        var texts: [String] = []
        for warning in warnings.prefix(maximumWarnings) {
            texts.append(sanitize(warning.detail))
        }
        if warnings.count > maximumWarnings {
            texts[texts.count - 1] =
                "\(warnings.count - maximumWarnings + 1) more warnings; run `backendtls lint` on the manifest to see all"
        }
        return texts
    }

    /// Control characters become spaces; over-long text is cut with an ellipsis.
    static func sanitize(_ text: String) -> String {
        // Most warnings are short printable ASCII: nothing to rewrite (this runs on every admitted request).
        if text.utf8.count <= maximumWarningLength, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            // C0, DEL and C1: the API server rejects warnings holding any control character.
            scalars.append(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? " " : scalar)
        }
        var clean = String(scalars)
        if clean.utf8.count > maximumWarningLength {
            while clean.utf8.count > maximumWarningLength - 3 { clean.removeLast() }
            clean += "…"
        }
        return clean
    }

    /// The full AdmissionReview body, in the apiVersion the request came in.
    public func review(apiVersion: String) -> JSONValue {
        var response = JSONObject([("uid", .string(uid)), ("allowed", .bool(allowed))])
        if let message {
            response["status"] = .object(
                JSONObject([
                    ("metadata", .object(JSONObject())), ("status", "Failure"), ("message", .string(message)),
                    ("reason", "Forbidden"), ("code", 403),
                ]))
        }
        if !warnings.isEmpty { response["warnings"] = .array(warnings.map { .string($0) }) }
        if !patch.isEmpty {
            response["patchType"] = "JSONPatch"
            response["patch"] = .string(Data(JSONPatch.serialize(patch).utf8).base64EncodedString())
        }
        return .object(
            JSONObject([
                ("apiVersion", .string(apiVersion)), ("kind", "AdmissionReview"), ("response", .object(response)),
            ]))
    }
}
