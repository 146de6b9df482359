public import Foundation

extension KubeCredentials {
    /// Where the kubelet mounts the service account: `token`, `ca.crt` and `namespace`.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Whether this process runs in a pod (the API server's Service is in the environment).
    public static func isInCluster(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment["KUBERNETES_SERVICE_HOST"] ?? "").isEmpty
    }

    /// The pod's credentials, as client-go's `rest.InClusterConfig` reads them.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = serviceAccountDirectory
    ) throws(KubeCredentialsError) -> KubeCredentials {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeCredentialsError(
                "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; pass --kubeconfig"
            )
        }
        let tokenFile = directory + "/token"
        let caFile = directory + "/ca.crt"
        let token: BearerTokenSource
        do {
            token = try BearerTokenSource(file: tokenFile)
        } catch {
            throw KubeCredentialsError(
                "in-cluster credentials: \(error.description) (is automountServiceAccountToken disabled for this pod?)")
        }
        guard let ca = FileManager.default.contents(atPath: caFile) else {
            throw KubeCredentialsError("in-cluster credentials: cannot read the cluster CA \(caFile)")
        }
        let namespace = FileManager.default.contents(atPath: directory + "/namespace").map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // An IPv6 service address needs brackets in a URL.
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeCredentials(
            server: "https://\(hostPart):\(port)", certificateAuthorityPEM: Array(ca), token: token,
            namespace: namespace?.isEmpty == false ? namespace : nil, origin: "in-cluster service account")
    }
}
