public import BackendTLS

/// One Kubernetes object read from a file, with where it came from for messages.
public struct Manifest: Sendable, Hashable {
    public var object: JSONValue
    /// `path` or `path#N` (1-based document number) for multi-document files, `-` for standard input.
    public var source: String

    public init(object: JSONValue, source: String) {
        self.object = object
        self.source = source
    }
}

/// Why input could not be read: the CLI exits 2 with this sentence.
public enum ManifestError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalidYAML(source: String, reason: String)
    case invalidJSON(source: String, reason: String)
    case notAnObject(source: String, type: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .invalidYAML(let source, let reason): "\(source): invalid YAML: \(reason)"
        case .invalidJSON(let source, let reason): "\(source): \(reason)"
        case .notAnObject(let source, let type): "\(source): expected a Kubernetes object, got \(type)"
        }
    }
}
