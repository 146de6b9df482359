import Foundation

/// curl as the end-to-end tests run it: proxy variables removed from its environment (only `-x`, when given,
/// picks a proxy), stdout and stderr whole.
enum CurlProcess {
    static let executable = "/usr/bin/curl"

    static func run(_ arguments: [String]) throws -> (exitCode: Int32, standardOutput: Data, standardError: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.lowercased().hasSuffix("_proxy") }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain stderr on the side so a chatty curl cannot block on a full pipe while we read stdout.
        let errorHandle = stderr.fileHandleForReading
        let errorData = BackgroundValue { errorHandle.readDataToEndOfFile() }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output, String(decoding: errorData.wait(), as: UTF8.self))
    }
}
