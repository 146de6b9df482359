import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    static let version = "0.1.0"

    func run() {
        print("backendtls \(Self.version)")
    }
}
