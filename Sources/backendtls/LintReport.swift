import BackendTLS

/// Renders lint results: kubectl-style lines, or one JSON object per checked resource.
enum LintReport {
    static func textLines(_ results: [LintResult]) -> [String] {
        results.flatMap { result in
            result.diagnostics.map { diagnostic in
                let line = "\(diagnostic.object): \(diagnostic.detail)"
                return diagnostic.isError ? line : "Warning: \(line)"
            }
        }
    }

    static func summary(_ results: [LintResult]) -> String {
        let denied = results.count(where: \.denied)
        let warned = results.count { !$0.denied && !$0.diagnostics.isEmpty }
        return "checked \(results.count) object\(results.count == 1 ? "" : "s"): \(denied) denied, "
            + "\(warned) allowed with warnings, \(results.count - denied - warned) clean"
    }

    static func json(_ result: LintResult) -> String {
        let diagnostics: [JSONValue] = result.diagnostics.map { diagnostic in
            .object(
                JSONObject([
                    ("severity", .string(diagnostic.severity.rawValue)),
                    ("reason", .string(diagnostic.reason.rawValue)),
                    ("field", .string(diagnostic.field)),
                    ("message", .string(diagnostic.message)),
                ]))
        }
        var object = JSONObject([
            ("kind", .string(result.object.kind)),
            ("namespace", .string(result.object.namespace)),
            ("name", .string(result.object.name)),
            ("source", .string(result.source)),
            ("verdict", .string(result.denied ? "denied" : "allowed")),
            ("diagnostics", .array(diagnostics)),
        ])
        if !result.patch.isEmpty { object["defaults"] = .array(result.patch.map(\.json)) }
        return JSONSerializer.serialize(.object(object))
    }
}
