public import ArgumentParser

/// Where the webhook (`--store kubernetes`) and the sidecar (`--kube`) find the API server outside a pod;
/// in a pod without `--kubeconfig`, the service account is used.
public struct KubeconfigOptions: ParsableArguments {
    @Option(
        help: "kubeconfig to use instead of in-cluster credentials (default outside a pod: KUBECONFIG, ~/.kube/config)."
    )
    public var kubeconfig: String?

    @Option(help: "kubeconfig context to use (default: its current-context).")
    public var context: String?

    @Flag(
        name: .customLong("allow-insecure-kubeconfig"),
        help: "Accept a kubeconfig cluster with insecure-skip-tls-verify (never do this in production).")
    public var allowInsecureKubeconfig = false

    public init() {}
}
