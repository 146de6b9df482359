import ArgumentParser
import BackendTLS
import BackendTLSManifests

/// `backendtls resolve`: the TLS settings the sidecar would enforce for one Service port.
struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Show the effective TLS settings for a Service port, or why there are none.",
        discussion: "Exit status: 0 resolved or no policy, 1 the winning policy cannot be enforced, 2 bad input."
    )

    @OptionGroup var flags: ValidationFlags

    @Option(help: "The Service as NAMESPACE/NAME (or NAME in --namespace).")
    var service: String

    @Option(help: "The Service port: a number or a port name.")
    var port: String

    @Flag(
        name: .customLong("no-defaults"),
        help: "Resolve policies as written, without the mutating webhook's defaults (as lint --no-defaults).")
    var noDefaults = false

    func run() throws {
        let configuration = flags.configuration()
        let parts = service.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, !parts.contains(where: \.isEmpty) else {
            throw CommandLineFailure(message: "--service must be NAMESPACE/NAME, got \(service.debugDescription)")
        }
        let namespace = parts.count == 2 ? parts[0] : flags.namespace
        let name = parts.last ?? service
        let selector: ServicePortSelector = Int(port).map { .number($0) } ?? .name(port)
        let objects = try flags.manifests().map { noDefaults ? $0.object : PolicyDefaulter.defaulted($0.object).object }
        let store = StoreSnapshot(objects: objects, defaultNamespace: flags.namespace)
        let context = ValidationContext(store: store, now: try flags.evaluationTime(), configuration: configuration)
        switch Resolver(context: context).resolve(namespace: namespace, service: name, port: selector) {
        case .noPolicy:
            print(
                "service \(namespace)/\(name) port \(port): no BackendTLSPolicy applies (the sidecar forwards plaintext unless it runs with --require-policy)"
            )
        case .failed(let failure):
            print("service \(namespace)/\(name) port \(port): refused (\(failure.reason)): \(failure)")
            throw ExitCode(1)
        case .resolved(let settings):
            for line in ResolvedSettingsReport.lines(settings, service: "\(namespace)/\(name)", port: port) {
                print(line)
            }
        }
    }
}

enum ResolvedSettingsReport {
    static func lines(_ settings: ResolvedBackendTLS, service: String, port: String) -> [String] {
        var lines = ["service \(service) port \(port): TLS required by \(settings.policy)"]
        lines.append("  sni: \(settings.serverName)")
        switch settings.trust {
        case .system: lines.append("  trust: system CA store")
        case .certificates(let der, let fingerprint):
            lines.append("  trust: \(der.count) certificate\(der.count == 1 ? "" : "s") (\(fingerprint))")
        }
        switch settings.identity {
        case .hostname(let hostname): lines.append("  identity: DNS name \(hostname)")
        case .subjectAltNames(let matchers):
            let names = matchers.map { matcher -> String in
                switch matcher {
                case .dnsName(let name): "DNS:\(name)"
                case .uri(let uri): "URI:\(uri)"
                }
            }
            lines.append("  identity: any of \(names.joined(separator: ", "))")
        }
        let options = settings.options
        if let minimum = options.minimumTLSVersion { lines.append("  min TLS version: \(minimum.rawValue)") }
        if let maximum = options.maximumTLSVersion { lines.append("  max TLS version: \(maximum.rawValue)") }
        if !options.alpnProtocols.isEmpty { lines.append("  ALPN: \(options.alpnProtocols.joined(separator: ","))") }
        if !options.cipherSuites.isEmpty {
            lines.append("  cipher suites: \(options.cipherSuites.joined(separator: ","))")
        }
        if !options.certificateHashes.isEmpty {
            lines.append("  pinned leaf SHA-256: \(options.certificateHashes.joined(separator: ","))")
        }
        return lines
    }
}
