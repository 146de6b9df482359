import Foundation
import Testing

/// Every directory under `examples/` gets the verdict its `EXPECT` file states from the built `backendtls lint`.
struct ExamplesTests {
    /// An `EXPECT` file: one `verdict: allowed|denied` line and any number of `contains: …` lines.
    struct Expectation {
        var exitStatus: Int32
        var contains: [String]

        init?(parsing text: String) {
            var status: Int32?
            var contains: [String] = []
            for line in text.split(separator: "\n") {
                if line.hasPrefix("verdict: ") {
                    switch line.dropFirst("verdict: ".count).trimmingCharacters(in: .whitespaces) {
                    case "allowed": status = 0
                    case "denied": status = 1
                    default: return nil
                    }
                } else if line.hasPrefix("contains: ") {
                    contains.append(String(line.dropFirst("contains: ".count)))
                }
            }
            guard let status else { return nil }
            self.exitStatus = status
            self.contains = contains
        }
    }

    static let examplesDirectory = ProcessRunner.packageRoot.appendingPathComponent("examples")

    /// The `NN-name` directories, found when the test plan is built so a new example is tested without edits here.
    static let exampleNames: [String] = {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: examplesDirectory.path)) ?? []
        return entries.filter { name in
            var isDirectory: ObjCBool = false
            let path = examplesDirectory.appendingPathComponent(name).path
            return name.first?.isNumber == true
                && FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }()

    /// The generator runs once per test process (a `static let`), however many tests run in parallel:
    /// each run replaces every CA bundle, and a test must not read one half-written.
    static let generation = Result { () throws -> ProcessRunner.Output in
        try ProcessRunner.run(examplesDirectory.appendingPathComponent("generate-certificates.sh").path, [])
    }

    private func requireGeneratedCertificates() throws {
        let output = try Self.generation.get()
        try #require(output.status == 0, "generate-certificates.sh failed:\n\(output.standardError)")
    }

    private func lint(_ arguments: [String]) throws -> ProcessRunner.Output {
        try ProcessRunner.run(ProcessRunner.backendtls, ["lint"] + arguments)
    }

    @Test func examplesAreFound() {
        // An empty argument list would make the table test below pass without running anything.
        #expect(Self.exampleNames.count >= 13)
    }

    @Test(arguments: exampleNames)
    func exampleGetsExpectedVerdict(_ name: String) throws {
        try requireGeneratedCertificates()
        let directory = Self.examplesDirectory.appendingPathComponent(name)
        let text = try String(contentsOf: directory.appendingPathComponent("EXPECT"), encoding: .utf8)
        let expectation = try #require(Expectation(parsing: text), "\(name)/EXPECT has no valid verdict line")
        let output = try lint(["-f", directory.path])
        #expect(
            output.status == expectation.exitStatus,
            "\(name): exit status \(output.status)\n\(output.standardOutput)\(output.standardError)")
        for substring in expectation.contains {
            #expect(output.standardOutput.contains(substring), "\(name): output lacks \(substring)")
        }
    }

    @Test func jsonOutputHasOneObjectPerCheckedResource() throws {
        try requireGeneratedCertificates()
        let directory = Self.examplesDirectory.appendingPathComponent("13-conflicting-policies")
        let output = try lint(["-f", directory.path, "--output", "json"])
        #expect(output.status == 1)
        let objects = try output.standardOutput.split(separator: "\n").map { line in
            try #require(
                JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)")
        }
        let verdicts = objects.map { object in
            "\(object["kind"] ?? "?") \(object["name"] ?? "?"): \(object["verdict"] ?? "no verdict")"
        }
        // The Service is only context: admission checks the CA ConfigMap and each policy.
        #expect(
            verdicts == [
                "ConfigMap tls-backend-ca: allowed",
                "BackendTLSPolicy tls-backend-platform: allowed",
                "BackendTLSPolicy tls-backend-team: denied",
            ])
    }

    @Test func missingFileIsBadInput() throws {
        let missing = Self.examplesDirectory.appendingPathComponent("no-such-example/policy.yaml").path
        let output = try lint(["-f", missing])
        // 2, not 1: CI must tell "your manifests are denied" from "you pointed me at nothing".
        #expect(output.status == 2)
        #expect(output.standardError.contains("no such file or directory"))
        #expect(output.standardOutput.isEmpty)
    }
}
