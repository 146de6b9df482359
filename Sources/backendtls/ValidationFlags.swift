public import ArgumentParser
public import BackendTLS
import BackendTLSManifests
import Foundation

extension RuleSet: ExpressibleByArgument {}
extension Enforcement: ExpressibleByArgument {}
extension GatewayAPIRelease: ExpressibleByArgument {}

/// The flags that shape validation, shared by `lint` and `resolve`.
struct ValidationFlags: ParsableArguments {
    @Option(name: .customLong("rules"), help: "Rule set: upstream (the CRD's checks only) or strict.")
    var ruleSet: RuleSet = .strict

    @Option(help: "What strict findings do: deny, or warn only.")
    var enforcement: Enforcement = .deny

    @Option(name: .customLong("gateway-api-version"), help: "CRD release to emulate: v1.4 or v1.5 (v1.5 and later).")
    var release: GatewayAPIRelease = .latest

    @Option(help: "Judge certificates at this time (RFC 3339) instead of now.")
    var now: String?

    @Option(
        name: .customLong("known-target-kind"),
        help: "A target kind besides Service that is expected (Kind or Kind.group); repeatable.")
    var knownTargetKinds: [String] = []

    @Option(
        name: .customLong("ca-ref-kind"),
        help: "CA reference kinds to resolve (ConfigMap, Secret); repeatable. Default: both.")
    var caRefKinds: [String] = []

    @Option(
        name: .customLong("known-well-known-ca"),
        help: "wellKnownCACertificates values this installation resolves; repeatable. Default: System.")
    var knownWellKnown: [String] = []

    @Option(
        name: .customLong("expiry-warning-days"), help: "Warn about CA certificates expiring within this many days.")
    var expiryWarningDays: Int = 30

    @Option(name: .customLong("namespace"), help: "Namespace for objects that name none.")
    var namespace: String = "default"

    @Option(
        name: [.customShort("f"), .customLong("filename")],
        help: "A file, a directory, or - for standard input; repeatable.")
    var files: [String] = []

    func configuration() throws -> ValidationConfiguration {
        guard expiryWarningDays >= 0 else {
            throw CommandLineFailure(message: "--expiry-warning-days must not be negative")
        }
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

    func evaluationTime() throws -> Date {
        guard let now else { return Date() }
        guard let date = RFC3339.parse(now) else {
            throw CommandLineFailure(
                message: "--now \(now.debugDescription) is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)")
        }
        return date
    }

    func manifests() throws -> [Manifest] {
        guard !files.isEmpty else { throw CommandLineFailure(message: "no input: pass -f FILE, -f DIR or -f -") }
        do {
            return try ManifestLoader.load(files)
        } catch {
            throw CommandLineFailure(message: error.description)
        }
    }
}
