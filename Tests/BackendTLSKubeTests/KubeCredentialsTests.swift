import BackendTLSKube
import Foundation
import Testing

@Suite("Kubernetes credentials")
struct KubeCredentialsTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "creds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func kubeconfig(cluster: String, user: String, extraContexts: String = "", current: String = "main") -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: c
          cluster:
        \(cluster)
        users:
        - name: u
          user:
        \(user)
        contexts:
        - name: main
          context: {cluster: c, user: u, namespace: team-a}
        \(extraContexts)
        current-context: \(current)
        """
    }

    @Test func tokenAndRelativeCertificateAuthorityPath() throws {
        _ = try write("ca.pem", "CA BYTES")
        let path = try write(
            "config",
            kubeconfig(
                cluster: "    server: https://10.0.0.1:6443/\n    certificate-authority: ca.pem",
                user: "    token: abc"))
        let credentials = try KubeCredentials.kubeconfig(paths: [path])
        #expect(credentials.server == "https://10.0.0.1:6443")
        #expect(credentials.certificateAuthorityPEM == Array("CA BYTES".utf8))
        #expect(try credentials.token?.current() == "abc")
        #expect(credentials.namespace == "team-a")
        #expect(credentials.origin.contains("context \"main\""))
    }

    @Test func inlineDataWinsOverPaths() throws {
        let data = Data("INLINE".utf8).base64EncodedString()
        let path = try write(
            "config",
            kubeconfig(
                cluster:
                    "    server: https://k\n    certificate-authority: /does/not/exist\n    certificate-authority-data: \(data)",
                user: "    client-certificate-data: \(data)\n    client-key-data: \(data)"))
        let credentials = try KubeCredentials.kubeconfig(paths: [path])
        #expect(credentials.certificateAuthorityPEM == Array("INLINE".utf8))
        #expect(credentials.clientCertificatePEM == Array("INLINE".utf8))
        #expect(credentials.clientKeyPEM == Array("INLINE".utf8))
        #expect(credentials.token == nil)
    }

    @Test func insecureSkipVerifyNeedsExplicitPermission() throws {
        let path = try write(
            "config", kubeconfig(cluster: "    server: https://k\n    insecure-skip-tls-verify: true", user: "    {}"))
        let error = #expect(throws: KubeCredentialsError.self) { try KubeCredentials.kubeconfig(paths: [path]) }
        #expect(error?.description.contains("--allow-insecure-kubeconfig") == true)
        let allowed = try KubeCredentials.kubeconfig(paths: [path], allowInsecure: true)
        #expect(allowed.insecureSkipTLSVerify)
    }

    @Test func execPluginsAreRefusedByName() throws {
        let path = try write(
            "config", kubeconfig(cluster: "    server: https://k", user: "    exec: {command: aws, apiVersion: v1}"))
        let error = #expect(throws: KubeCredentialsError.self) { try KubeCredentials.kubeconfig(paths: [path]) }
        #expect(error?.description.contains("user \"u\" uses exec") == true)
    }

    @Test func missingPiecesAreNamed() throws {
        let noServer = try write("a", kubeconfig(cluster: "    certificate-authority-data: eA==", user: "    {}"))
        #expect(throws: KubeCredentialsError("kubeconfig \(noServer): cluster \"c\" has no server")) {
            try KubeCredentials.kubeconfig(paths: [noServer])
        }
        let badContext = try write("b", kubeconfig(cluster: "    server: https://k", user: "    {}", current: "prod"))
        let error = #expect(throws: KubeCredentialsError.self) { try KubeCredentials.kubeconfig(paths: [badContext]) }
        #expect(error?.description.contains("no context named \"prod\"") == true)
        #expect(throws: KubeCredentialsError("kubeconfig \(directory)/none does not exist")) {
            try KubeCredentials.kubeconfig(paths: [directory + "/none"])
        }
        let certOnly = try write(
            "c", kubeconfig(cluster: "    server: https://k", user: "    client-certificate-data: eA=="))
        let halfPair = #expect(throws: KubeCredentialsError.self) { try KubeCredentials.kubeconfig(paths: [certOnly]) }
        #expect(halfPair?.description.contains("without a key") == true)
    }

    @Test func kubeconfigPathsFollowKubectl() {
        #expect(KubeCredentials.kubeconfigPaths(flag: "/x", environment: ["KUBECONFIG": "/y"]) == ["/x"])
        #expect(KubeCredentials.kubeconfigPaths(flag: nil, environment: ["KUBECONFIG": "/y:/z"]) == ["/y", "/z"])
        #expect(
            KubeCredentials.kubeconfigPaths(flag: nil, environment: ["HOME": "/home/me"]) == ["/home/me/.kube/config"])
    }

    @Test func mergedFilesTakeTheFirstCurrentContext() throws {
        let first = try write("first", "current-context: main\n")
        let second = try write("second", kubeconfig(cluster: "    server: https://merged", user: "    token: t"))
        let credentials = try KubeCredentials.kubeconfig(paths: [first, second])
        #expect(credentials.server == "https://merged")
    }

    @Test func inClusterReadsTheServiceAccountAndRereadsRotatedTokens() throws {
        _ = try write("token", "first-token\n")
        _ = try write("ca.crt", "CLUSTER CA")
        _ = try write("namespace", "backendtls-system")
        let environment = ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"]
        #expect(KubeCredentials.isInCluster(environment: environment))
        let credentials = try KubeCredentials.inCluster(environment: environment, directory: directory)
        #expect(credentials.server == "https://[fd00::1]:443")
        #expect(credentials.namespace == "backendtls-system")
        #expect(credentials.certificateAuthorityPEM == Array("CLUSTER CA".utf8))
        #expect(try credentials.token?.current() == "first-token")
        _ = try write("token", "second-token")
        // Cached until the refresh interval or a 401 invalidates it.
        #expect(try credentials.token?.current() == "first-token")
        credentials.token?.invalidate()
        #expect(try credentials.token?.current() == "second-token")
    }

    @Test func inClusterFailuresSayWhatIsMissing() throws {
        #expect(!KubeCredentials.isInCluster(environment: [:]))
        let outside = #expect(throws: KubeCredentialsError.self) {
            try KubeCredentials.inCluster(environment: [:], directory: directory)
        }
        #expect(outside?.description.contains("KUBERNETES_SERVICE_HOST") == true)
        let environment = ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let noToken = #expect(throws: KubeCredentialsError.self) {
            try KubeCredentials.inCluster(environment: environment, directory: directory)
        }
        #expect(noToken?.description.contains("automountServiceAccountToken") == true)
        _ = try write("token", "   \n")
        let empty = #expect(throws: KubeCredentialsError.self) {
            try KubeCredentials.inCluster(environment: environment, directory: directory)
        }
        #expect(empty?.description.contains("is empty") == true)
    }
}
