import ArgumentParser
import BackendTLS
import BackendTLSManifests
import Foundation

/// `backendtls admission-review`: wraps manifests in AdmissionReview requests, to exercise a webhook with curl.
struct AdmissionReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admission-review",
        abstract: "Wrap each object of the manifests in an admission.k8s.io AdmissionReview request.",
        discussion: """
            Prints one AdmissionReview per line, or writes NN-kind-name.json files with --output-dir.
            Example: backendtls admission-review -f policy.yaml | head -1 | curl --cacert ca.crt \\
              https://localhost:8443/validate -H 'content-type: application/json' --data-binary @-
            """)

    enum Operation: String, ExpressibleByArgument {
        case CREATE, UPDATE, DELETE
    }

    @Option(
        name: [.customShort("f"), .customLong("filename")],
        help: "A file, a directory, or - for standard input; repeatable.")
    var files: [String] = []

    @Option(help: "The admission operation.")
    var operation: Operation = .CREATE

    @Flag(name: .customLong("dry-run"), help: "Mark the requests as dry-run.")
    var dryRun = false

    @Option(name: .customLong("api-version"), help: "admission.k8s.io/v1 or admission.k8s.io/v1beta1.")
    var apiVersion = "admission.k8s.io/v1"

    @Option(name: .customLong("namespace"), help: "Namespace for objects that name none.")
    var namespace = "default"

    @Option(
        name: .customLong("output-dir"), help: "Write one file per request into this directory instead of printing.")
    var outputDirectory: String?

    func run() throws {
        guard AdmissionReview.supportedAPIVersions.contains(apiVersion) else {
            throw CommandLineFailure(message: "--api-version must be admission.k8s.io/v1 or admission.k8s.io/v1beta1")
        }
        guard !files.isEmpty else { throw CommandLineFailure(message: "no input: pass -f FILE, -f DIR or -f -") }
        let manifests: [Manifest]
        do {
            manifests = try ManifestLoader.load(files)
        } catch {
            throw CommandLineFailure(message: error.description)
        }
        if let outputDirectory {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        }
        for (index, manifest) in manifests.enumerated() {
            let object = StoreSnapshot.withNamespace(manifest.object, namespace)
            let review = Self.review(
                for: object, index: index, operation: operation.rawValue, dryRun: dryRun, apiVersion: apiVersion)
            let text = JSONSerializer.serialize(review)
            if let outputDirectory {
                let kind = (object["kind"]?.stringValue ?? "object").lowercased()
                let name = object["metadata"]?["name"]?.stringValue ?? "unnamed"
                let path = "\(outputDirectory)/\(String(format: "%02d", index + 1))-\(kind)-\(name).json"
                try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: path))
                print(path)
            } else {
                print(text)
            }
        }
    }

    static func review(for object: JSONValue, index: Int, operation: String, dryRun: Bool, apiVersion: String)
        -> JSONValue
    {
        let objectAPIVersion = object["apiVersion"]?.stringValue ?? "v1"
        let parts = objectAPIVersion.split(separator: "/").map(String.init)
        let group = parts.count == 2 ? parts[0] : ""
        let version = parts.last ?? "v1"
        let kind = object["kind"]?.stringValue ?? ""
        let resource = kind == "BackendTLSPolicy" ? "backendtlspolicies" : kind.lowercased() + "s"
        let gvk: JSONValue = ["group": .string(group), "version": .string(version), "kind": .string(kind)]
        let gvr: JSONValue = ["group": .string(group), "version": .string(version), "resource": .string(resource)]
        var request = JSONObject([
            ("uid", .string("00000000-0000-4000-8000-\(String(format: "%012d", index + 1))")),
            ("kind", gvk), ("resource", gvr), ("requestKind", gvk), ("requestResource", gvr),
            ("name", object["metadata"]?["name"] ?? ""), ("namespace", object["metadata"]?["namespace"] ?? ""),
            ("operation", .string(operation)),
            ("userInfo", ["username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]]),
            ("object", operation == "DELETE" ? .null : object),
            ("oldObject", operation == "CREATE" ? .null : object),
            ("dryRun", .bool(dryRun)),
        ])
        request["options"] = [
            "apiVersion": "meta.k8s.io/v1", "kind": operation == "DELETE" ? "DeleteOptions" : "CreateOptions",
        ]
        return .object(
            JSONObject([
                ("apiVersion", .string(apiVersion)), ("kind", "AdmissionReview"), ("request", .object(request)),
            ]))
    }
}
