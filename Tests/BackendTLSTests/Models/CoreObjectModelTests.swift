import BackendTLS
import Foundation
import TestCertificates
import Testing

struct CoreObjectModelTests {
    // MARK: ConfigMap

    @Test func configMapDecodesDataAndBase64BinaryData() throws {
        let pem = TestPKI.certificateAuthority().pem
        let encoded = Data(pem.utf8).base64EncodedString()
        let configMap = try ConfigMap(
            json: Fixtures.json(
                #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ca","namespace":"ns"},"data":{"note":"hi"},"binaryData":{"ca.crt":"\#(encoded)","raw":"AAEC/w=="}}"#
            ))
        #expect(configMap.metadata.name == "ca")
        #expect(configMap.data == ["note": "hi"])
        #expect(configMap.binaryData["raw"] == [0x00, 0x01, 0x02, 0xFF])
        #expect(configMap.bytes(forKey: "ca.crt") == Array(pem.utf8))
        #expect(configMap.bytes(forKey: "note") == Array("hi".utf8))
        #expect(configMap.keys == ["ca.crt", "note", "raw"])
    }

    /// `base64` wraps its output at 76 columns, and a manifest may carry it in a block scalar: the API server's decoder
    /// (Go's) skips line breaks, so `kubectl apply` takes it, and so must we.
    @Test func wrappedBase64DecodesAsTheAPIServerDecodesIt() throws {
        let pem = TestPKI.certificateAuthority().pem
        let wrapped = Data(pem.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        #expect(wrapped.contains("\n"))
        let crlf = wrapped.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"
        for text in [wrapped, crlf] {
            var object = JSONObject()
            object["apiVersion"] = "v1"
            object["kind"] = "Secret"
            object["metadata"] = .object(JSONObject([("name", "s")]))
            object["data"] = .object(JSONObject([("ca.crt", .string(text))]))
            #expect(try Secret(json: .object(object)).data["ca.crt"] == Array(pem.utf8))
            object["kind"] = "ConfigMap"
            object["binaryData"] = object["data"]
            object["data"] = nil
            #expect(try ConfigMap(json: .object(object)).binaryData["ca.crt"] == Array(pem.utf8))
        }
    }

    /// Only line breaks are skipped: a space or a tab is not base64, for Go's decoder either.
    @Test(arguments: ["not base64!", "AAE", "%%%%", "AAEC /w==", "AAEC\\t/w=="])
    func configMapInvalidBase64NamesTheField(_ text: String) {
        let object = Fixtures.json(
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ca"},"binaryData":{"ca.crt":"\#(text)"}}"#)
        let error = #expect(throws: ModelDecodingError.self) { try ConfigMap(json: object) }
        #expect(error?.field == "binaryData.ca.crt")
        #expect(error?.description.hasPrefix("binaryData.ca.crt: ") == true)
    }

    @Test func configMapDataOfWrongTypeNamesTheKey() {
        let object = Fixtures.json(
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ca"},"data":{"ca.crt":42}}"#)
        let error = #expect(throws: ModelDecodingError.self) { try ConfigMap(json: object) }
        #expect(error?.field == "data.ca.crt")
    }

    @Test(arguments: [
        (#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#, "kind"),
        (#"{"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"x"}}"#, "apiVersion"),
        (#"{"apiVersion":"v1","kind":"ConfigMap","metadata":"x"}"#, "metadata"),
    ])
    func configMapEnvelopeErrorsNameTheField(_ text: String, _ field: String) {
        let error = #expect(throws: ModelDecodingError.self) { try ConfigMap(json: Fixtures.json(text)) }
        #expect(error?.field == field)
    }

    @Test func configMapJSONRoundTrips() throws {
        let configMap = ConfigMap(
            metadata: ObjectMeta(name: "ca", namespace: "ns"), data: ["a": "b"], binaryData: ["c": [1, 2, 3]])
        #expect(try ConfigMap(json: configMap.json) == configMap)
    }

    // MARK: Secret

    @Test func secretDecodesBase64DataAndMergesStringData() throws {
        let secret = try Secret(
            json: Fixtures.json(
                #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"kubernetes.io/tls","data":{"tls.crt":"Y2VydA==","ca.crt":"b2xk"},"stringData":{"ca.crt":"new","extra":"e"}}"#
            ))
        #expect(secret.type == "kubernetes.io/tls")
        #expect(secret.data["tls.crt"] == Array("cert".utf8))
        // stringData wins over data for the same key, as the API server merges it.
        #expect(secret.data["ca.crt"] == Array("new".utf8))
        #expect(secret.data["extra"] == Array("e".utf8))
        #expect(secret.keys == ["ca.crt", "extra", "tls.crt"])
    }

    @Test func secretTypeDefaultsToOpaqueAndBadBase64NamesTheField() {
        let plain = try? Secret(json: Fixtures.json(#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}"#))
        #expect(plain?.type == "Opaque")
        let error = #expect(throws: ModelDecodingError.self) {
            try Secret(
                json: Fixtures.json(
                    #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"ca.crt":"***"}}"#))
        }
        #expect(error?.field == "data.ca.crt")
    }

    // MARK: Service

    @Test func servicePortsDefaultToTCP() throws {
        let service = try Service(
            json: Fixtures.json(
                #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"b","namespace":"ns"},"spec":{"clusterIP":"10.0.0.5","ports":[{"name":"https","port":443,"appProtocol":"kubernetes.io/h2c"},{"port":53,"protocol":"UDP"}]}}"#
            ))
        #expect(
            service.ports == [
                Service.Port(name: "https", port: 443, protocol: "TCP", appProtocol: "kubernetes.io/h2c"),
                Service.Port(name: "", port: 53, protocol: "UDP"),
            ])
        #expect(service.clusterIP == "10.0.0.5")
        #expect(service.port(named: "https")?.port == 443)
        #expect(service.port(number: 53)?.protocol == "UDP")
        #expect(service.port(number: 80) == nil)
        #expect(try Service(json: service.json) == service)
    }

    @Test(arguments: [
        (#"{"ports":[{"name":"x"}]}"#, "spec.ports[0].port"),
        (#"{"ports":[{"port":1},{"port":"443"}]}"#, "spec.ports[1].port"),
        (#"{"ports":{"port":1}}"#, "spec.ports"),
        (#"{"ports":[{"port":1,"protocol":6}]}"#, "spec.ports[0].protocol"),
    ])
    func servicePortErrorsNameTheField(_ spec: String, _ field: String) {
        let object = Fixtures.json(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"b"},"spec":\#(spec)}"#)
        let error = #expect(throws: ModelDecodingError.self) { try Service(json: object) }
        #expect(error?.field == field)
    }

    // MARK: ObjectMeta

    @Test func objectMetaReadsTimestampsWithFractionAndOffset() throws {
        let configMap = try ConfigMap(
            json: Fixtures.json(
                #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ca","namespace":"ns","uid":"u-1","generation":3,"creationTimestamp":"2024-02-29T12:30:45.25+05:30","deletionTimestamp":"2024-05-01T10:00:00Z","labels":{"a":"b"},"annotations":{"c":"d"}}}"#
            ))
        let metadata = configMap.metadata
        #expect(metadata.uid == "u-1")
        #expect(metadata.generation == 3)
        // 12:30:45.25 at +05:30 is 07:00:45.25 UTC.
        let created = try #require(metadata.creationTimestamp)
        #expect(abs(created.timeIntervalSince1970 - 1_709_190_045.25) < 0.000_001)
        #expect(metadata.deletionTimestamp == Date(timeIntervalSince1970: 1_714_557_600))
        #expect(metadata.labels == ["a": "b"])
        #expect(metadata.annotations == ["c": "d"])
    }

    @Test(arguments: [
        ("creationTimestamp", #""yesterday""#),
        ("creationTimestamp", #""2024-05-01 10:00""#),
        ("deletionTimestamp", #""2024-13-01T00:00:00Z""#),
        // Bug: RFC3339.parse accepts days beyond the month's length (rolls over to 2023-03-01).
        ("deletionTimestamp", #""2023-02-29T00:00:00Z""#),
        ("creationTimestamp", "1714557600"),
    ])
    func objectMetaInvalidTimestampNamesTheField(_ key: String, _ value: String) {
        let object = Fixtures.json(
            #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ca","\#(key)":\#(value)}}"#)
        let error = #expect(throws: ModelDecodingError.self) { try ConfigMap(json: object) }
        #expect(error?.field == "metadata.\(key)")
    }

    @Test func objectMetaGenerationMustBeAnInteger() {
        let object = Fixtures.json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ca","generation":"1"}}"#)
        let error = #expect(throws: ModelDecodingError.self) { try ConfigMap(json: object) }
        #expect(error?.field == "metadata.generation")
    }

    @Test func displayNameFallsBackToGenerateName() throws {
        let configMap = try ConfigMap(
            json: Fixtures.json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"ca-"}}"#))
        #expect(configMap.metadata.displayName == "ca-*")
        #expect(configMap.reference.description == "configmap ca-*")
    }
}
