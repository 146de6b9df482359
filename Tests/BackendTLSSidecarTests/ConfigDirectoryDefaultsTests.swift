import BackendTLS
import Foundation
import Logging
import Testing

@testable import BackendTLSSidecar

/// `--config-dir` holds manifests as people write them, and judges them as `backendtls lint` does: defaulted as the
/// API server would store them with the mutating webhook installed.
struct ConfigDirectoryDefaultsTests {
    /// JSON, one of the forms the directory takes: a Service, and a policy that leaves out its target's `group` and
    /// writes its hostname in capitals.
    static let manifests = #"""
        {"apiVersion": "v1", "kind": "List", "items": [
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "backend", "namespace": "default"},
           "spec": {"ports": [{"name": "https", "port": 443}]}},
          {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "BackendTLSPolicy",
           "metadata": {"name": "undefaulted", "namespace": "default"},
           "spec": {"targetRefs": [{"kind": "Service", "name": "backend"}],
                    "validation": {"wellKnownCACertificates": "System", "hostname": "Backend.Example.COM"}}}
        ]}
        """#

    @Test func aPolicyLeavingOutTheDefaultsIsEnforcedDefaulted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("defaults-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.manifests.write(
            to: directory.appendingPathComponent("backend.json"), atomically: true, encoding: .utf8)
        let state = SidecarState(configuration: ValidationConfiguration())
        let source = ConfigDirectorySource(
            directory: directory.path, namespace: "default", state: state, metrics: SidecarMetrics(),
            logger: Logger(label: "test"))
        try source.load()

        let policy = try #require(state.snapshot?.store.policy(namespace: "default", name: "undefaulted"))
        #expect(policy.targetRefs.first?.group == "")
        let resolution = try #require(state.resolve(namespace: "default", service: "backend", port: .number(443)))
        guard case .resolved(let settings) = resolution.resolution else {
            Issue.record("expected the policy to apply, got \(resolution.resolution)")
            return
        }
        #expect(settings.serverName == "backend.example.com")
    }
}
