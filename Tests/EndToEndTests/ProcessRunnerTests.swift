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

    /// A child that writes more to its standard error than a pipe holds, and then to its standard output, while
    /// it is given a large input: every byte arrives, and the run ends in time.
    @Test func largeOutputsAndInputDoNotBlockEachOther() throws {
        let script = "head -c 200000 /dev/zero >&2; cat | wc -c"
        let output = try ProcessRunner.run(
            "sh", ["-c", script], input: String(repeating: "x", count: 300_000), timeout: 20)
        #expect(output.status == 0, "\(output.standardError.suffix(200))")
        #expect(output.standardError.utf8.count == 200_000)
        #expect(output.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "300000")
    }

    /// A child that reads none of its input and exits: the run reports its exit instead of dying of SIGPIPE.
    @Test func childThatLeavesItsInputUnreadEndsTheRunCleanly() throws {
        let output = try ProcessRunner.run("sh", ["-c", "exit 3"], input: String(repeating: "x", count: 1 << 20))
        #expect(output.status == 3)
    }

    @Test func processEndingInTimeKeepsItsOutput() throws {
        let output = try ProcessRunner.run("sh", ["-c", "echo out; echo err >&2"], timeout: 30)
        #expect(output.status == 0)
        #expect(output.standardOutput == "out\n")
        #expect(output.standardError == "err\n")
    }
}
