/// The defaults the mutating webhook applies, as JSON Patch against the raw object (Foundation §7).
///
/// The API server runs mutating webhooks before schema validation, so these turn "Required value" errors
/// (the CRD has no defaults for `group`) into working policies. Idempotent: a defaulted object yields `[]`.
public enum PolicyDefaulter {
    /// A manifest as the API server would store it with the mutating webhook installed, so that offline users of
    /// manifests (`lint`, `resolve`, the sidecar's `--config-dir`) judge the same object. Anything but a
    /// BackendTLSPolicy, or one the patch does not apply to, comes back as it was: validation names what is wrong.
    public static func defaulted(_ object: JSONValue) -> (object: JSONValue, patch: [JSONPatchOperation]) {
        guard object["kind"]?.stringValue == "BackendTLSPolicy" else { return (object, []) }
        let patch = operations(for: object)
        guard !patch.isEmpty, let defaulted = try? JSONPatch.apply(patch, to: object) else { return (object, []) }
        return (defaulted, patch)
    }

    public static func operations(for object: JSONValue) -> [JSONPatchOperation] {
        guard let apiVersion = object["apiVersion"]?.stringValue,
            let version = BackendTLSPolicyVersion(apiVersion: apiVersion),
            let spec = object["spec"]?.objectValue
        else { return [] }
        let paths = version.paths
        let legacy = version == .v1alpha2
        var operations: [JSONPatchOperation] = []

        let targets: [JSONValue] = legacy ? [spec["targetRef"]].compactMap { $0 } : spec["targetRefs"]?.arrayValue ?? []
        for (index, target) in targets.enumerated() where target.objectValue != nil {
            operations.append(contentsOf: setIfMissing(target, "group", "", at: paths.targetRefPointer(index)))
        }

        let validation = (legacy ? spec["tls"] : spec["validation"])?.objectValue
        let refs = validation?[legacy ? "caCertRefs" : "caCertificateRefs"]?.arrayValue ?? []
        for (index, ref) in refs.enumerated() where ref.objectValue != nil {
            operations.append(contentsOf: setIfMissing(ref, "group", "", at: paths.caCertificateRefPointer(index)))
            operations.append(
                contentsOf: setIfMissing(ref, "kind", "ConfigMap", at: paths.caCertificateRefPointer(index)))
        }

        if let hostname = validation?["hostname"]?.stringValue, hostname != hostname.lowercased(),
            hostname.allSatisfy(\.isASCII)
        {
            operations.append(
                JSONPatchOperation(op: .replace, path: paths.hostnamePointer, value: .string(hostname.lowercased())))
        }
        return operations
    }

    private static func setIfMissing(_ object: JSONValue, _ key: String, _ value: JSONValue, at pointer: JSONPointer)
        -> [JSONPatchOperation]
    {
        switch object[key] {
        case nil: [JSONPatchOperation(op: .add, path: pointer.appending(key), value: value)]
        case .null?: [JSONPatchOperation(op: .replace, path: pointer.appending(key), value: value)]
        default: []
        }
    }
}
