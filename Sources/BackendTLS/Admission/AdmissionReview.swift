/// An `admission.k8s.io` AdmissionReview request, as the API server sends it (v1 or v1beta1).
public struct AdmissionRequest: Sendable, Hashable {
    public struct GroupVersionKind: Sendable, Hashable {
        public var group: String
        public var version: String
        public var kind: String
    }

    public struct GroupVersionResource: Sendable, Hashable {
        public var group: String
        public var version: String
        public var resource: String
    }

    public struct UserInfo: Sendable, Hashable {
        public var username: String
        public var groups: [String]
    }

    public var uid: String
    public var kind: GroupVersionKind
    public var resource: GroupVersionResource?
    public var subResource: String?
    public var name: String
    public var namespace: String
    public var operation: ValidationContext.Operation
    public var userInfo: UserInfo
    public var object: JSONValue?
    public var oldObject: JSONValue?
    public var dryRun: Bool
}

/// The envelope: which version it came in (the answer must use the same) and the request.
public struct AdmissionReview: Sendable, Hashable {
    public static let supportedAPIVersions = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"]

    public var apiVersion: String
    public var request: AdmissionRequest
}

/// Why a body is not a usable AdmissionReview; the webhook answers 400 with this text.
public enum AdmissionReviewError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedJSON(JSONParseError)
    case notAnObject(String)
    case unsupportedAPIVersion(String?)
    case wrongKind(String?)
    case missingRequest
    case missingField(String)
    case invalidField(String, expected: String)
    case objectKindMismatch(request: String, object: String)

    public var description: String {
        switch self {
        case .malformedJSON(let error): "request body is not valid JSON: \(error)"
        case .notAnObject(let type): "request body must be a JSON object (an AdmissionReview), got \(type)"
        case .unsupportedAPIVersion(let version):
            "apiVersion \(version.map { GoQuoting.quote($0) } ?? "(missing)") is not supported; expected admission.k8s.io/v1 or admission.k8s.io/v1beta1"
        case .wrongKind(let kind): "kind \(kind.map { GoQuoting.quote($0) } ?? "(missing)") is not AdmissionReview"
        case .missingRequest: "AdmissionReview has no request"
        case .missingField(let path): "\(path): Required value"
        case .invalidField(let path, let expected): "\(path): \(expected)"
        case .objectKindMismatch(let request, let object):
            "request.kind is \(GoQuoting.quote(request)) but request.object is a \(GoQuoting.quote(object))"
        }
    }
}

extension AdmissionReview {
    /// Decodes and checks an AdmissionReview body.
    public init(bytes: [UInt8]) throws(AdmissionReviewError) {
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw .malformedJSON(error)
        }
        try self.init(json: json)
    }

    public init(json: JSONValue) throws(AdmissionReviewError) {
        guard json.objectValue != nil else { throw .notAnObject(json.typeName) }
        let apiVersion = json["apiVersion"]?.stringValue
        guard let apiVersion, Self.supportedAPIVersions.contains(apiVersion) else {
            throw .unsupportedAPIVersion(apiVersion)
        }
        guard json["kind"]?.stringValue == "AdmissionReview" else { throw .wrongKind(json["kind"]?.stringValue) }
        guard let request = json["request"], request != .null else { throw .missingRequest }
        guard request.objectValue != nil else {
            throw .invalidField("request", expected: "expected an object, got \(request.typeName)")
        }
        self.apiVersion = apiVersion
        self.request = try AdmissionRequest(json: request)
    }
}

extension AdmissionRequest {
    /// The API server sends `object` and `oldObject` always, as `null` when there is none.
    private static func present(_ value: JSONValue?) -> JSONValue? {
        guard let value, value != .null else { return nil }
        return value
    }

    init(json: JSONValue) throws(AdmissionReviewError) {
        func string(_ key: String, in value: JSONValue, path: String, required: Bool = true)
            throws(AdmissionReviewError) -> String?
        {
            guard let member = value[key], member != .null else {
                if required { throw .missingField("\(path).\(key)") }
                return nil
            }
            guard let text = member.stringValue else {
                throw .invalidField("\(path).\(key)", expected: "expected a string, got \(member.typeName)")
            }
            return text
        }
        guard let uid = try string("uid", in: json, path: "request"), !uid.isEmpty else {
            throw .missingField("request.uid")
        }
        guard let kindValue = json["kind"], kindValue.objectValue != nil else { throw .missingField("request.kind") }
        let kind = GroupVersionKind(
            group: try string("group", in: kindValue, path: "request.kind", required: false) ?? "",
            version: try string("version", in: kindValue, path: "request.kind", required: false) ?? "",
            kind: try string("kind", in: kindValue, path: "request.kind") ?? ""
        )
        var resource: GroupVersionResource?
        if let value = json["resource"], value.objectValue != nil {
            resource = GroupVersionResource(
                group: try string("group", in: value, path: "request.resource", required: false) ?? "",
                version: try string("version", in: value, path: "request.resource", required: false) ?? "",
                resource: try string("resource", in: value, path: "request.resource", required: false) ?? ""
            )
        }
        guard let operationText = try string("operation", in: json, path: "request") else {
            throw .missingField("request.operation")
        }
        guard let operation = ValidationContext.Operation(rawValue: operationText) else {
            throw .invalidField(
                "request.operation",
                expected:
                    "Unsupported value: \(GoQuoting.quote(operationText)): supported values: \"CREATE\", \"UPDATE\", \"DELETE\", \"CONNECT\""
            )
        }
        var userInfo = UserInfo(username: "", groups: [])
        if let user = json["userInfo"], user.objectValue != nil {
            userInfo.username = try string("username", in: user, path: "request.userInfo", required: false) ?? ""
            userInfo.groups = (user["groups"]?.arrayValue ?? []).compactMap(\.stringValue)
        }
        let object = Self.present(json["object"])
        let oldObject = Self.present(json["oldObject"])
        for (path, value) in [("request.object", object), ("request.oldObject", oldObject)] {
            guard let value else { continue }
            guard value.objectValue != nil else {
                throw .invalidField(path, expected: "expected an object, got \(value.typeName)")
            }
            if let objectKind = value["kind"]?.stringValue, objectKind != kind.kind {
                throw .objectKindMismatch(request: kind.kind, object: objectKind)
            }
        }
        if operation == .delete, oldObject == nil, object == nil {
            // Allowed: the API server omits oldObject on DELETE of some versions; the handler allows then.
        } else if operation != .delete, object == nil {
            throw .missingField("request.object")
        }
        var dryRun = false
        if let value = json["dryRun"], value != .null {
            guard case .bool(let flag) = value else {
                throw .invalidField("request.dryRun", expected: "expected a boolean, got \(value.typeName)")
            }
            dryRun = flag
        }
        self.init(
            uid: uid, kind: kind, resource: resource,
            subResource: try string("subResource", in: json, path: "request", required: false),
            name: try string("name", in: json, path: "request", required: false) ?? "",
            namespace: try string("namespace", in: json, path: "request", required: false) ?? "",
            operation: operation, userInfo: userInfo, object: object, oldObject: oldObject, dryRun: dryRun
        )
    }
}
