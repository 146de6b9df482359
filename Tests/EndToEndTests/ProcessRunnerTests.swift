import Foundation
import Testing

/// The runner every end-to-end test starts its clients with.
@Suite struct ProcessRunnerTests {
    /// A client that never finishes is killed at its deadline, with what it started (which holds its output
    /// open), and the output says so.
    @Test func processOutlivingItsTimeoutIsKilledWithItsChildren() throws {
        let started = Date()
        let output = try ProcessRunner.run("sh", ["-c", "sleep 30 & sleep 30"], timeout: 0.5)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(output.status != 0)
        #expect(output.standardError.contains("killed: sh still ran after 0.5 s"), "\(output.standardError)")
    }

    @Test func processEndingInTimeKeepsItsOutput() throws {
        let output = try ProcessRunner.run("sh", ["-c", "echo out; echo err >&2"], timeout: 30)
        #expect(output.status == 0)
        #expect(output.standardOutput == "out\n")
        #expect(output.standardError == "err\n")
    }
}
