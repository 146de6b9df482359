/// How to reach and authenticate to one API server, from the pod's service account or a kubeconfig.
///
/// Holds bytes, not paths, except for the token: bound service-account tokens rotate hourly, so the token
/// source re-reads its file (see `BearerTokenSource`).
public struct KubeCredentials: Sendable {
    /// `https://host:port` with no trailing slash; the API paths are appended to it.
    public var server: String
    public var certificateAuthorityPEM: [UInt8]?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    public var token: BearerTokenSource?
    /// Only ever `true` when the kubeconfig asks for it *and* the operator allowed it with a flag.
    public var insecureSkipTLSVerify: Bool
    /// The namespace of the pod (in cluster) or of the kubeconfig context, when there is one.
    public var namespace: String?
    /// Where these came from, for log lines and errors: "in-cluster service account" or the kubeconfig path.
    public var origin: String

    public init(
        server: String,
        certificateAuthorityPEM: [UInt8]? = nil,
        clientCertificatePEM: [UInt8]? = nil,
        clientKeyPEM: [UInt8]? = nil,
        token: BearerTokenSource? = nil,
        insecureSkipTLSVerify: Bool = false,
        namespace: String? = nil,
        origin: String
    ) {
        var server = server
        while server.hasSuffix("/") { server.removeLast() }
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.token = token
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.namespace = namespace
        self.origin = origin
    }
}

/// Why credentials could not be loaded; every case names the file or field to fix.
public struct KubeCredentialsError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
