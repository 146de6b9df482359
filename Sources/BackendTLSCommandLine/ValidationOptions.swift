public import ArgumentParser
public import BackendTLS

extension RuleSet: ExpressibleByArgument {}
extension Enforcement: ExpressibleByArgument {}
extension GatewayAPIRelease: ExpressibleByArgument {}

/// The flags that shape validation, shared by `backendtls` and `backendtls-webhook` so both spell them alike.
public struct ValidationOptions: ParsableArguments {
    @Option(name: .customLong("rules"), help: "Rule set: upstream (the CRD's checks only) or strict.")
    public var ruleSet: RuleSet = .strict

    @Option(help: "What strict findings do: deny, or warn only.")
    public var enforcement: Enforcement = .deny

    @Option(name: .customLong("gateway-api-version"), help: "CRD release to emulate: v1.4 or v1.5 (v1.5 and later).")
    public var release: GatewayAPIRelease = .latest

    @Option(
        name: .customLong("known-target-kind"),
        help: "A target kind besides Service that is expected (Kind or Kind.group); repeatable.")
    public var knownTargetKinds: [String] = []

    @Option(
        name: .customLong("ca-ref-kind"),
        help: "CA reference kinds to resolve (ConfigMap, Secret); repeatable. Default: both.")
    public var caRefKinds: [String] = []

    @Option(
        name: .customLong("known-well-known-ca"),
        help: "wellKnownCACertificates values this installation resolves; repeatable. Default: System.")
    public var knownWellKnown: [String] = []

    @Option(
        name: .customLong("expiry-warning-days"), help: "Warn about CA certificates expiring within this many days.")
    public var expiryWarningDays: Int = 30

    public init() {}

    public func validate() throws {
        guard expiryWarningDays >= 0 else { throw ValidationError("--expiry-warning-days must not be negative") }
    }

    public func configuration() -> ValidationConfiguration {
        var configuration = ValidationConfiguration(ruleSet: ruleSet, enforcement: enforcement, release: release)
        configuration.knownTargetKinds = Set(knownTargetKinds.map(ValidationConfiguration.GroupKind.init(parsing:)))
        if !caRefKinds.isEmpty {
            configuration.allowedCACertificateRefKinds = Set(
                caRefKinds.map(ValidationConfiguration.GroupKind.init(parsing:)))
        }
        if !knownWellKnown.isEmpty { configuration.knownWellKnownCACertificates = Set(knownWellKnown) }
        configuration.bundle.expiryWarningWindow = .seconds(expiryWarningDays * 86_400)
        return configuration
    }
}
