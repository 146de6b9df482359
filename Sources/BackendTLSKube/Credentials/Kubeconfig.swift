import BackendTLS
import BackendTLSManifests
public import Foundation

extension KubeCredentials {
    /// The kubeconfig files to read, as kubectl picks them: the flag, else `KUBECONFIG` (a `:`-separated list),
    /// else `~/.kube/config`.
    public static func kubeconfigPaths(
        flag: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String] {
        if let flag, !flag.isEmpty { return [flag] }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            return list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return [home + "/.kube/config"]
    }

    /// Reads kubeconfig files (merged like kubectl: the first file to name a cluster, user, context or
    /// `current-context` wins) and returns the credentials of `context`, or of the current context.
    ///
    /// - Parameter allowInsecure: `insecure-skip-tls-verify: true` is refused unless this is set.
    public static func kubeconfig(
        paths: [String],
        context requestedContext: String? = nil,
        allowInsecure: Bool = false
    ) throws(KubeCredentialsError) -> KubeCredentials {
        var files: [(path: String, root: JSONValue)] = []
        for path in paths {
            guard FileManager.default.fileExists(atPath: path) else {
                if paths.count == 1 { throw KubeCredentialsError("kubeconfig \(path) does not exist") }
                continue
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw KubeCredentialsError("cannot read kubeconfig \(path)")
            }
            let manifests: [Manifest]
            do {
                manifests = try ManifestParser.parse(String(decoding: data, as: UTF8.self), source: path)
            } catch {
                throw KubeCredentialsError("kubeconfig \(path) is not valid YAML: \(error)")
            }
            guard let root = manifests.first?.object else { throw KubeCredentialsError("kubeconfig \(path) is empty") }
            files.append((path, root))
        }
        guard !files.isEmpty else {
            throw KubeCredentialsError("no kubeconfig found (looked at \(paths.joined(separator: ", ")))")
        }
        let contextName = requestedContext ?? files.lazy.compactMap { $0.root["current-context"]?.stringValue }.first
        guard let contextName, !contextName.isEmpty else {
            throw KubeCredentialsError("kubeconfig \(files[0].path) has no current-context; pass a context")
        }
        let (contextFile, context) = try entry("contexts", "context", named: contextName, in: files)
        guard let clusterName = context["cluster"]?.stringValue else {
            throw KubeCredentialsError(
                "kubeconfig \(contextFile): context \(contextName.debugDescription) names no cluster")
        }
        let (clusterFile, cluster) = try entry("clusters", "cluster", named: clusterName, in: files)
        guard let server = cluster["server"]?.stringValue, !server.isEmpty else {
            throw KubeCredentialsError(
                "kubeconfig \(clusterFile): cluster \(clusterName.debugDescription) has no server")
        }
        let insecure = cluster["insecure-skip-tls-verify"] == .bool(true)
        if insecure && !allowInsecure {
            throw KubeCredentialsError(
                "kubeconfig \(clusterFile): cluster \(clusterName.debugDescription) sets insecure-skip-tls-verify; refusing to talk to the API server without verifying it (allow it explicitly with --allow-insecure-kubeconfig)"
            )
        }
        var credentials = KubeCredentials(
            server: server,
            certificateAuthorityPEM: try bytes(
                cluster, "certificate-authority", in: clusterFile, what: "cluster \(clusterName.debugDescription)"),
            insecureSkipTLSVerify: insecure,
            namespace: context["namespace"]?.stringValue,
            origin: "kubeconfig \(contextFile) (context \(contextName.debugDescription))")
        if let userName = context["user"]?.stringValue, !userName.isEmpty {
            let (userFile, user) = try entry("users", "user", named: userName, in: files)
            let what = "user \(userName.debugDescription)"
            for unsupported in ["exec", "auth-provider", "username"] where user[unsupported] != nil {
                throw KubeCredentialsError(
                    "kubeconfig \(userFile): \(what) uses \(unsupported), which backendtls does not support; use a token, tokenFile or client certificate"
                )
            }
            credentials.clientCertificatePEM = try bytes(user, "client-certificate", in: userFile, what: what)
            credentials.clientKeyPEM = try bytes(user, "client-key", in: userFile, what: what)
            if (credentials.clientCertificatePEM == nil) != (credentials.clientKeyPEM == nil) {
                throw KubeCredentialsError(
                    "kubeconfig \(userFile): \(what) has a client certificate without a key or a key without a certificate"
                )
            }
            if let token = user["token"]?.stringValue, !token.isEmpty {
                credentials.token = BearerTokenSource(token: token)
            } else if let tokenFile = user["tokenFile"]?.stringValue, !tokenFile.isEmpty {
                credentials.token = try BearerTokenSource(file: resolve(tokenFile, relativeTo: userFile))
            }
        }
        return credentials
    }

    private static func entry(
        _ list: String,
        _ field: String,
        named name: String,
        in files: [(path: String, root: JSONValue)]
    ) throws(KubeCredentialsError) -> (String, JSONValue) {
        for file in files {
            for item in file.root[list]?.arrayValue ?? [] where item["name"]?.stringValue == name {
                guard let value = item[field], value.objectValue != nil else {
                    throw KubeCredentialsError("kubeconfig \(file.path): \(field) \(name.debugDescription) is empty")
                }
                return (file.path, value)
            }
        }
        throw KubeCredentialsError(
            "kubeconfig \(files.map(\.path).joined(separator: ":")) has no \(field) named \(name.debugDescription)")
    }

    /// `NAME-data` (base64) wins over `NAME` (a path relative to the kubeconfig's directory), as in client-go.
    private static func bytes(_ object: JSONValue, _ name: String, in file: String, what: String)
        throws(KubeCredentialsError) -> [UInt8]?
    {
        if let encoded = object[name + "-data"]?.stringValue, !encoded.isEmpty {
            guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw KubeCredentialsError("kubeconfig \(file): \(what) \(name)-data is not valid base64")
            }
            return Array(data)
        }
        guard let path = object[name]?.stringValue, !path.isEmpty else { return nil }
        let resolved = resolve(path, relativeTo: file)
        guard let data = FileManager.default.contents(atPath: resolved) else {
            throw KubeCredentialsError("kubeconfig \(file): \(what) \(name) \(resolved) cannot be read")
        }
        return Array(data)
    }

    private static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty ? path : directory + "/" + path
    }
}
