import ArgumentParser
import Foundation

/// `backendtls`: the offline face of the library (lint, resolve, version).
@main
struct BackendTLSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backendtls",
        abstract: "Validate Gateway API BackendTLSPolicies offline and show the TLS settings they resolve to.",
        subcommands: [
            LintCommand.self, ResolveCommand.self, InspectCommand.self, AdmissionReviewCommand.self,
            VersionCommand.self,
        ]
    )

    /// Exit 2 on bad usage (ArgumentParser's default is 64), so CI scripts can tell usage from denials.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let error as CommandLineFailure {
            printError("error: \(error.message)")
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            printError(fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}

/// A failure the user can fix (unreadable file, bad flag value): printed and exit status 2.
struct CommandLineFailure: Error {
    let message: String
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
