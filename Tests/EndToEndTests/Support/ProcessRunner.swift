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

    /// - Parameter timeout: a process still running then is killed, with every process it started, and its standard
    ///   error says so: a test whose client waits for bytes that never come fails instead of hanging, and leaves
    ///   nothing running behind it. coreutils' `timeout` runs it in a process group of its own and is the one that
    ///   waits for it, so no other process can be hit by the kill.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, in directory: URL? = nil,
        timeout: TimeInterval = 120
    ) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["timeout", "--signal=KILL", String(timeout), executable] + arguments
        if let directory { process.currentDirectoryURL = directory }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        // Both outputs are read while the input is written: a child that fills one pipe while the runner waits on
        // another (or on its input) would otherwise wait for ever, and only the timeout would end it.
        let output = Drain(stdout.fileHandleForReading)
        let errors = Drain(stderr.fileHandleForReading)
        if let input {
            // A child that exits (or is killed) before it has read all of its input must not take the test run
            // down with SIGPIPE: the write fails instead, and the child's exit says what happened.
            _ = Self.brokenPipesIgnored
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        }
        try stdin.fileHandleForWriting.close()
        let outData = output.wait()
        let errData = errors.wait()
        process.waitUntilExit()
        // `timeout` kills its whole group, itself included.
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        return Output(
            status: process.terminationStatus,
            standardOutput: String(decoding: outData, as: UTF8.self),
            standardError: String(decoding: errData, as: UTF8.self)
                + (killed ? "\n[killed: \(executable) still ran after \(timeout) s]" : "")
        )
    }

    private static let brokenPipesIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Reads a pipe to its end on a thread of its own.
    private final class Drain: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            DispatchQueue.global().async {
                self.data = handle.readDataToEndOfFile()
                self.done.signal()
            }
        }

        func wait() -> Data {
            done.wait()
            return data
        }
    }

    /// A fresh temporary directory, removed by the caller when done.
    static func temporaryDirectory(_ prefix: String = "backendtls-e2e") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
