import ArgumentParser
import BackendTLS
import BackendTLSManifests

/// `backendtls lint`: the webhook's verdicts, offline; exit 1 when anything would be denied.
struct LintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check BackendTLSPolicies, ConfigMaps and Secrets as the admission webhook would.",
        discussion: """
            All objects in all inputs form the cluster state; each BackendTLSPolicy, ConfigMap and Secret is
            checked as an admission CREATE. Exit status: 0 nothing denied, 1 something denied, 2 bad input.
            """
    )

    enum OutputFormat: String, ExpressibleByArgument {
        case text
        case json
    }

    @OptionGroup var flags: ValidationFlags

    @Option(help: "text (one line per finding) or json (one object per checked resource).")
    var output: OutputFormat = .text

    @Flag(
        name: .customLong("no-defaults"), help: "Validate objects as written, without the mutating webhook's defaults.")
    var noDefaults = false

    func run() throws {
        let configuration = flags.configuration()
        let linter = Linter(
            configuration: configuration,
            now: try flags.evaluationTime(),
            applyDefaults: !noDefaults,
            defaultNamespace: flags.namespace
        )
        let manifests = try flags.manifests()
        let results = linter.lint(manifests.map { ($0.object, $0.source) })
        switch output {
        case .text:
            for line in LintReport.textLines(results) { print(line) }
            printError(LintReport.summary(results))
        case .json:
            for result in results { print(LintReport.json(result)) }
        }
        if results.contains(where: \.denied) { throw ExitCode(1) }
    }
}
