import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plaintext HTTP/1.1 backend that answers every request with the same bytes, whatever they are: for answers
/// nginx never gives (a transfer coding besides chunked, trailers with obs-text, an unasked-for 101). The sidecar
/// forwards in plaintext to a Service without a policy, so no TLS is needed to reach it.
final class ScriptedBackend {
    let port: Int
    private let process: Process
    /// Held open for the backend's life: it exits when this closes, so a crashed test leaves nothing running.
    private let input: Pipe

    private static let script = #"""
        import os, socket, sys, threading
        answer = bytes.fromhex(sys.argv[1])

        def exit_with_the_test():
            sys.stdin.buffer.read()  # the end of input: the test process is gone, even if it crashed
            os._exit(0)

        threading.Thread(target=exit_with_the_test, daemon=True).start()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        print(listener.getsockname()[1], flush=True)

        def serve(connection):
            with connection:
                data = b""
                try:
                    while True:
                        while b"\r\n\r\n" not in data:
                            chunk = connection.recv(65536)
                            if not chunk:
                                return
                            data += chunk
                        data = data.split(b"\r\n\r\n", 1)[1]
                        connection.sendall(answer)
                except OSError:
                    pass  # the sidecar closed or reset the connection

        while True:
            connection, _ = listener.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        """#

    /// Starts the backend; it answers each request head with `answer` (request bodies are not read).
    init(answering answer: [UInt8]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, answer.map { String(format: "%02x", $0) }.joined()]
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw LoopbackPort.Failure(description: "the scripted backend did not start: \(line)")
        }
        self.process = process
        self.input = input
        self.port = port
    }

    /// SIGKILL: it keeps nothing to clean up, and it inherits the test process's blocked SIGTERM.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
