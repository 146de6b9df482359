import Foundation
import Testing

/// The built `backendtls resolve`: the settings the sidecar would enforce for a Service port, from manifests, judged
/// as `backendtls lint` judges them.
struct ResolveCommandTests {
    private static let service = """
        apiVersion: v1
        kind: Service
        metadata: {name: NAME, namespace: default}
        spec: {ports: [{name: https, port: 443}]}
        """

    /// Writes the documents into a directory of their own and runs `resolve` over it.
    private func resolve(_ documents: [String], _ arguments: [String]) throws -> ProcessRunner.Output {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("resolve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try documents.joined(separator: "\n---\n").write(
            to: directory.appendingPathComponent("manifests.yaml"), atomically: true, encoding: .utf8)
        return try ProcessRunner.run(ProcessRunner.backendtls, ["resolve", "-f", directory.path] + arguments)
    }

    private func service(_ name: String) -> String {
        Self.service.replacingOccurrences(of: "NAME", with: name)
    }

    /// A policy that leaves out what the mutating webhook defaults (the target's `group`) and writes its hostname
    /// in capitals: `lint` judges it defaulted and calls it clean, so `resolve` must enforce it, not refuse it.
    @Test func policiesAreDefaultedAsLintJudgesThem() throws {
        let policy = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: BackendTLSPolicy
            metadata: {name: undefaulted, namespace: default}
            spec:
              targetRefs: [{kind: Service, name: backend}]
              validation: {wellKnownCACertificates: System, hostname: Backend.Example.COM}
            """
        let documents = [service("backend"), policy]
        let output = try resolve(documents, ["--service", "default/backend", "--port", "443"])
        #expect(output.status == 0, "\(output.standardOutput)\(output.standardError)")
        #expect(output.standardOutput.contains("TLS required by backendtlspolicy default/undefaulted"))
        #expect(output.standardOutput.contains("  sni: backend.example.com\n"), "\(output.standardOutput)")

        let asWritten = try resolve(documents, ["--service", "default/backend", "--port", "443", "--no-defaults"])
        #expect(asWritten.status == 1, "\(asWritten.standardOutput)\(asWritten.standardError)")
        #expect(asWritten.standardOutput.contains("spec.targetRefs[0].group: Required value"))
    }

    /// Conflicts are per target (spec §8): the newer policy loses `other` to an older one, and still applies to
    /// `backend`, which no other policy targets.
    @Test func aConflictLostOnAnotherServiceLeavesThisOneResolved() throws {
        let newer = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: BackendTLSPolicy
            metadata: {name: multi, namespace: default, creationTimestamp: "2025-03-02T00:00:00Z"}
            spec:
              targetRefs: [{group: "", kind: Service, name: backend}, {group: "", kind: Service, name: other}]
              validation: {wellKnownCACertificates: System, hostname: multi.example.com}
            """
        let older = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: BackendTLSPolicy
            metadata: {name: older, namespace: default, creationTimestamp: "2025-03-01T00:00:00Z"}
            spec:
              targetRefs: [{group: "", kind: Service, name: other}]
              validation: {wellKnownCACertificates: System, hostname: older.example.com}
            """
        let documents = [service("backend"), service("other"), newer, older]
        let won = try resolve(documents, ["--service", "backend", "--port", "https"])
        #expect(won.status == 0, "\(won.standardOutput)\(won.standardError)")
        #expect(won.standardOutput.contains("TLS required by backendtlspolicy default/multi"))
        #expect(won.standardOutput.contains("  sni: multi.example.com\n"))
        let lost = try resolve(documents, ["--service", "other", "--port", "443"])
        #expect(lost.status == 0, "\(lost.standardOutput)\(lost.standardError)")
        #expect(lost.standardOutput.contains("TLS required by backendtlspolicy default/older"))
    }
}
