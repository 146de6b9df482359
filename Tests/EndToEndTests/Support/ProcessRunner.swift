import Foundation

/// Runs the built binaries and system tools (openssl) for end-to-end tests.
enum ProcessRunner {
    struct Output {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// The package root, found from this file's location.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// A built executable: `.build/debug/NAME`, or NAME in the folder named by `BACKENDTLS_BIN_DIR`.
    static func builtBinary(_ name: String) -> String {
        let directory =
            ProcessInfo.processInfo.environment["BACKENDTLS_BIN_DIR"]
            ?? packageRoot.appendingPathComponent(".build/debug").path
        return "\(directory)/\(name)"
    }

    static var backendtls: String { builtBinary("backendtls") }

    /// - Parameter timeout: a process still running then is killed and its standard error says so: a test whose
    ///   client waits for bytes that never come fails instead of hanging, and leaves nothing running behind it.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, in directory: URL? = nil,
        timeout: TimeInterval = 120
    ) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let directory { process.currentDirectoryURL = directory }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        let deadline = Deadline(pid: process.processIdentifier)
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { deadline.expire() }
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        let errData = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let killed = deadline.finish()
        return Output(
            status: process.terminationStatus,
            standardOutput: String(decoding: outData, as: UTF8.self),
            standardError: String(decoding: errData, as: UTF8.self)
                + (killed ? "\n[killed: \(executable) still ran after \(Int(timeout)) s]" : "")
        )
    }

    /// Kills a process that outlives its time, unless it has been waited for (its pid could be reused then).
    private final class Deadline: @unchecked Sendable {
        private let lock = NSLock()
        private let pid: Int32
        private var finished = false
        private var killed = false

        init(pid: Int32) { self.pid = pid }

        func expire() {
            lock.withLock {
                guard !finished else { return }
                killed = true
                kill(pid, SIGKILL)
            }
        }

        /// - Returns: whether the process was killed.
        func finish() -> Bool {
            lock.withLock {
                finished = true
                return killed
            }
        }
    }

    /// A fresh temporary directory, removed by the caller when done.
    static func temporaryDirectory(_ prefix: String = "backendtls-e2e") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
