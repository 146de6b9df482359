/// One check: pure, synchronous, and accumulating (it returns every finding, not the first).
///
/// Shaped after swift-certificates' `VerifierPolicy`: a small protocol, composed by a result builder, with
/// combinators (`AllOf`, `WarnOnly`) that are rules too.
public protocol ValidationRule<Subject>: Sendable {
    associatedtype Subject
    func validate(_ subject: Subject, in context: ValidationContext) -> [Diagnostic]
}

/// Collects rules in order; the result is itself a rule.
@resultBuilder
public enum RuleBuilder<Subject> {
    public static func buildExpression(_ rule: some ValidationRule<Subject>) -> [any ValidationRule<Subject>] { [rule] }
    public static func buildBlock(_ parts: [any ValidationRule<Subject>]...) -> [any ValidationRule<Subject>] {
        parts.flatMap { $0 }
    }
    public static func buildOptional(_ part: [any ValidationRule<Subject>]?) -> [any ValidationRule<Subject>] {
        part ?? []
    }
    public static func buildEither(first: [any ValidationRule<Subject>]) -> [any ValidationRule<Subject>] { first }
    public static func buildEither(second: [any ValidationRule<Subject>]) -> [any ValidationRule<Subject>] { second }
}

/// Runs every rule and concatenates their findings.
public struct AllOf<Subject>: ValidationRule {
    let rules: [any ValidationRule<Subject>]

    public init(@RuleBuilder<Subject> _ build: () -> [any ValidationRule<Subject>]) {
        self.rules = build()
    }

    public func validate(_ subject: Subject, in context: ValidationContext) -> [Diagnostic] {
        rules.flatMap { $0.validate(subject, in: context) }
    }
}

/// `enforcement: warn`: the wrapped rules still run, but nothing they find can deny.
public struct WarnOnly<Subject>: ValidationRule {
    let rules: [any ValidationRule<Subject>]

    public init(@RuleBuilder<Subject> _ build: () -> [any ValidationRule<Subject>]) {
        self.rules = build()
    }

    public func validate(_ subject: Subject, in context: ValidationContext) -> [Diagnostic] {
        rules.flatMap { $0.validate(subject, in: context) }.map { $0.with(severity: .warning) }
    }
}
