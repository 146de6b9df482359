import ArgumentParser
import BackendTLS
import Foundation

/// `backendtls inspect`: what a CA bundle holds and what is wrong with it, as the webhook would judge it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Inspect a PEM CA bundle: certificates, fingerprints, validity and findings.",
        discussion: "Exit status: 0 usable bundle (warnings allowed), 1 errors, 2 unreadable input."
    )

    @Argument(help: "A PEM file (a ca.crt), or - for standard input.")
    var file: String

    @Option(help: "Judge validity at this time (RFC 3339) instead of now.")
    var now: String?

    @Option(name: .customLong("expiry-warning-days"), help: "Warn about certificates expiring within this many days.")
    var expiryWarningDays: Int = 30

    @Option(
        name: .customLong("repeat"),
        help: "Inspect this many times with a cold cache and print the mean time per inspection (benchmarks).")
    var repetitions: Int = 0

    func run() throws {
        let bytes: [UInt8]
        if file == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandLineFailure(message: "cannot read \(file)")
            }
            bytes = Array(data)
        }
        var date = Date()
        if let now {
            guard let parsed = RFC3339.parse(now) else {
                throw CommandLineFailure(message: "--now \(now.debugDescription) is not RFC 3339")
            }
            date = parsed
        }
        let configuration = CABundleInspector.Configuration(expiryWarningWindow: .seconds(expiryWarningDays * 86_400))
        if repetitions > 0 {
            let clock = ContinuousClock()
            var total = Duration.zero
            for _ in 0..<repetitions {
                let inspector = CABundleInspector(configuration: configuration)
                total += clock.measure { _ = inspector.inspect(bytes, now: date) }
            }
            let mean = total / repetitions
            let milliseconds = Double(mean.components.attoseconds) / 1e15 + Double(mean.components.seconds) * 1000
            print(
                "inspected \(bytes.count) bytes \(repetitions) times: \(String(format: "%.3f", milliseconds)) ms per inspection"
            )
            return
        }
        let inspection = CABundleInspector(configuration: configuration).inspect(bytes, now: date)
        print(
            "bundle \(inspection.fingerprint): \(inspection.certificates.count) certificate\(inspection.certificates.count == 1 ? "" : "s")"
        )
        for certificate in inspection.certificates {
            let role =
                certificate.isCertificateAuthority ? "CA" : (certificate.isSelfSigned ? "self-signed leaf" : "leaf")
            print(
                "  \(certificate.subject) [\(role)] valid \(RFC3339.format(certificate.notBefore)) to \(RFC3339.format(certificate.notAfter)) sha256 \(certificate.sha256)"
            )
        }
        for finding in inspection.findings {
            print("\(finding.severity == .error ? "" : "Warning: ")\(finding.reason): \(finding.message)")
        }
        if inspection.hasErrors { throw ExitCode(1) }
    }
}
