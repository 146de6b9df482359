/// The CRD's `x-kubernetes-validations`, verbatim, each with a Swift translation of its CEL expression.
///
/// `has(x)` is "present" (null members are pruned before validation, so they count as absent).
enum BackendTLSPolicyCELRules {
    /// C1 and C2 on `spec.targetRefs` (v1.3.0+).
    static let targetRefs: [CELRule] = [
        CELRule(
            rule:
                "self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name ? ((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '')) : true))",
            message: "sectionName must be specified when targetRefs includes 2 or more references to the same target"
        ) { value in
            let refs = value.arrayValue ?? []
            return refs.allSatisfy { p1 in
                refs.allSatisfy { p2 in
                    sameTarget(p1, p2) ? lacksSectionName(p1) == lacksSectionName(p2) : true
                }
            }
        },
        CELRule(
            rule:
                "self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) || (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))",
            message: "sectionName must be unique when targetRefs includes 2 or more references to the same target"
        ) { value in
            let refs = value.arrayValue ?? []
            return refs.allSatisfy { p1 in
                refs.count { p2 in
                    guard sameTarget(p1, p2) else { return false }
                    if lacksSectionName(p1) && lacksSectionName(p2) { return true }
                    guard let s1 = present(p1["sectionName"]), let s2 = present(p2["sectionName"]) else { return false }
                    return s1 == s2
                } == 1
            }
        },
    ]

    /// C3 and C4 on `spec.validation` (and `spec.tls` in v1alpha2, with its field names and messages).
    static func validation(refs: String, wellKnown: String) -> [CELRule] {
        let names =
            refs == "caCertRefs" ? ("CACertRefs", "WellKnownCACerts") : ("CACertificateRefs", "WellKnownCACertificates")
        let hasRefs: @Sendable (JSONValue) -> Bool = { value in (value[refs]?.arrayValue?.count ?? 0) > 0 }
        let hasWellKnown: @Sendable (JSONValue) -> Bool = { value in
            guard let text = present(value[wellKnown]) else { return false }
            return text != .string("")
        }
        return [
            CELRule(
                rule:
                    "!(has(self.\(refs)) && size(self.\(refs)) > 0 && has(self.\(wellKnown)) && self.\(wellKnown) != \"\")",
                message: "must not contain both \(names.0) and \(names.1)"
            ) { !(hasRefs($0) && hasWellKnown($0)) },
            CELRule(
                rule:
                    "(has(self.\(refs)) && size(self.\(refs)) > 0 || has(self.\(wellKnown)) && self.\(wellKnown) != \"\")",
                message: "must specify either \(names.0) or \(names.1)"
            ) { hasRefs($0) || hasWellKnown($0) },
        ]
    }

    /// C5 to C8 on each `spec.validation.subjectAltNames[i]` (v1.2.0+).
    static let subjectAltName: [CELRule] = [
        CELRule(
            rule: "!(self.type == \"Hostname\" && (!has(self.hostname) || self.hostname == \"\"))",
            message: "SubjectAltName element must contain Hostname, if Type is set to Hostname"
        ) { !($0["type"] == "Hostname" && isEmptyOrAbsent($0["hostname"])) },
        CELRule(
            rule: "!(self.type != \"Hostname\" && has(self.hostname) && self.hostname != \"\")",
            message: "SubjectAltName element must not contain Hostname, if Type is not set to Hostname"
        ) { !($0["type"] != "Hostname" && !isEmptyOrAbsent($0["hostname"])) },
        CELRule(
            rule: "!(self.type == \"URI\" && (!has(self.uri) || self.uri == \"\"))",
            message: "SubjectAltName element must contain URI, if Type is set to URI"
        ) { !($0["type"] == "URI" && isEmptyOrAbsent($0["uri"])) },
        CELRule(
            rule: "!(self.type != \"URI\" && has(self.uri) && self.uri != \"\")",
            message: "SubjectAltName element must not contain URI, if Type is not set to URI"
        ) { !($0["type"] != "URI" && !isEmptyOrAbsent($0["uri"])) },
    ]

    private static func present(_ value: JSONValue?) -> JSONValue? {
        guard let value, value != .null else { return nil }
        return value
    }

    private static func isEmptyOrAbsent(_ value: JSONValue?) -> Bool {
        guard let value = present(value) else { return true }
        return value == .string("")
    }

    private static func sameTarget(_ p1: JSONValue, _ p2: JSONValue) -> Bool {
        p1["group"] == p2["group"] && p1["kind"] == p2["kind"] && p1["name"] == p2["name"]
    }

    private static func lacksSectionName(_ ref: JSONValue) -> Bool {
        isEmptyOrAbsent(ref["sectionName"])
    }
}
