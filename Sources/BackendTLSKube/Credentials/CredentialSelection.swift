public import Logging

extension KubeCredentials {
    /// The pod's service account when running in a pod and no kubeconfig was named, else the kubeconfig
    /// (the flag, `KUBECONFIG`, `~/.kube/config`), as both executables choose them.
    public static func select(
        kubeconfig: String?,
        context: String?,
        allowInsecure: Bool,
        logger: Logger
    ) throws(KubeCredentialsError) -> KubeCredentials {
        let credentials: KubeCredentials
        if isInCluster() && kubeconfig == nil {
            credentials = try inCluster()
        } else {
            credentials = try Self.kubeconfig(
                paths: kubeconfigPaths(flag: kubeconfig), context: context, allowInsecure: allowInsecure)
        }
        if credentials.insecureSkipTLSVerify {
            logger.warning("the API server's certificate is NOT verified (--allow-insecure-kubeconfig)")
        }
        return credentials
    }
}
