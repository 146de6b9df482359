import ArgumentParser
import BackendTLS
import BackendTLSCommandLine
import BackendTLSManifests
import Foundation

/// The flags of `lint` and `resolve`: the shared validation options, plus inputs and time.
struct ValidationFlags: ParsableArguments {
    @OptionGroup var validation: ValidationOptions

    @Option(help: "Judge certificates at this time (RFC 3339) instead of now.")
    var now: String?

    @Option(name: .customLong("namespace"), help: "Namespace for objects that name none.")
    var namespace: String = "default"

    @Option(
        name: [.customShort("f"), .customLong("filename")],
        help: "A file, a directory, or - for standard input; repeatable.")
    var files: [String] = []

    func configuration() -> ValidationConfiguration {
        validation.configuration()
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
