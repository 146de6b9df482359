import BackendTLS
import Foundation

/// The objects and the event history of `TestKubeAPIServer`: a tiny etcd with resourceVersions.
///
/// Every write bumps one cluster-wide resourceVersion (as etcd's revision does) and appends an event; a
/// watch replays events after its resourceVersion, and versions below `compactedBelow` are gone (410).
struct TestKubeAPIServerState {
    struct Event {
        var resourceVersion: Int
        var collection: String
        var type: String
        var object: JSONValue
    }

    /// `collection` is `GROUP/VERSION/PLURAL` (core: `v1/PLURAL`); values by `namespace/name`.
    var objects: [String: [String: JSONValue]] = [:]
    var events: [Event] = []
    var resourceVersion = 100
    var compactedBelow = 0
    /// Paged lists, by the id in their continue token: the whole result at the first page's resourceVersion, as
    /// etcd serves the next pages from that revision's snapshot (writes in between do not shift them).
    var listSnapshots: [Int: [JSONValue]] = [:]
    var nextListSnapshot = 1

    static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }

    mutating func write(_ object: JSONValue, collection: String, type: String) -> JSONValue {
        resourceVersion += 1
        guard case .object(var root) = object else { return object }
        var metadata = root["metadata"]?.objectValue ?? JSONObject()
        // An update keeps what the API server set at creation, as the real one does.
        let key = Self.key(metadata["namespace"]?.stringValue ?? "", metadata["name"]?.stringValue ?? "")
        if let existing = objects[collection]?[key]?["metadata"] {
            metadata["uid"] = existing["uid"]
            metadata["creationTimestamp"] = existing["creationTimestamp"]
        }
        metadata["resourceVersion"] = .string(String(resourceVersion))
        if metadata["uid"] == nil { metadata["uid"] = .string("uid-\(resourceVersion)") }
        if metadata["creationTimestamp"] == nil {
            metadata["creationTimestamp"] = .string(RFC3339.format(Date()))
        }
        root["metadata"] = .object(metadata)
        let stored = JSONValue.object(root)
        if type == "DELETED" {
            objects[collection]?[key] = nil
        } else {
            objects[collection, default: [:]][key] = stored
        }
        events.append(Event(resourceVersion: resourceVersion, collection: collection, type: type, object: stored))
        return stored
    }

    func matches(_ object: JSONValue, namespace: String?, nameSelector: String?) -> Bool {
        let metadata = object["metadata"]
        if let namespace, metadata?["namespace"]?.stringValue != namespace { return false }
        if let nameSelector, metadata?["name"]?.stringValue != nameSelector { return false }
        return true
    }

    func list(_ collection: String, namespace: String?, nameSelector: String?) -> [JSONValue] {
        (objects[collection] ?? [:]).sorted { $0.key < $1.key }.map(\.value).filter {
            matches($0, namespace: namespace, nameSelector: nameSelector)
        }.map(Self.withoutTypeMeta)
    }

    /// List items, like the real API server's, carry no kind or apiVersion.
    static func withoutTypeMeta(_ object: JSONValue) -> JSONValue {
        guard case .object(var root) = object else { return object }
        root["kind"] = nil
        root["apiVersion"] = nil
        return .object(root)
    }
}
