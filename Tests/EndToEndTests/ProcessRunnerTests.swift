import Foundation
import Testing

/// The runner every end-to-end test starts its clients with.
@Suite struct ProcessRunnerTests {
    /// A client that never finishes is killed at its deadline, and the output says so.
    @Test func processOutlivingItsTimeoutIsKilled() throws {
        let started = Date()
        let output = try ProcessRunner.run("sleep", ["30"], timeout: 0.5)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(output.status != 0)
        #expect(output.standardError.contains("killed: sleep still ran after 0 s"), "\(output.standardError)")
    }

    @Test func processEndingInTimeKeepsItsOutput() throws {
        let output = try ProcessRunner.run("sh", ["-c", "echo out; echo err >&2"], timeout: 30)
        #expect(output.status == 0)
        #expect(output.standardOutput == "out\n")
        #expect(output.standardError == "err\n")
    }
}
