import BackendTLS
import BackendTLSManifests

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Drives one input through every decoder that untrusted bytes reach: the AdmissionReview path (JSON),
/// the manifest path (YAML), the PEM scanner and the CA inspector, then validation of whatever decoded.
///
/// Built two ways: with `-sanitize=fuzzer -DFUZZING` it is a libFuzzer target (`make fuzz`); otherwise a
/// bounded randomized run over mutated seeds, which `make test` also performs through the test suite.
enum FuzzTarget {
    static let inspector = CABundleInspector()
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func run(_ bytes: [UInt8]) {
        let context = ValidationContext(store: StoreSnapshot(), now: now, inspector: inspector)
        if let review = try? AdmissionReview(bytes: bytes) {
            let evaluator = AdmissionEvaluator(configuration: ValidationConfiguration())
            for endpoint in [AdmissionEvaluator.Endpoint.validate, .mutate] {
                let decision = evaluator.evaluate(review.request, endpoint: endpoint, context: context)
                _ = AdmissionResponse(uid: review.request.uid, decision: decision).review(apiVersion: review.apiVersion)
            }
        }
        _ = try? PEMScanner.scan(bytes)
        _ = inspector.inspect(bytes, now: now)
        if let text = String(validatingUTF8: bytes), let manifests = try? ManifestParser.parse(text, source: "fuzz") {
            let linter = Linter(configuration: ValidationConfiguration(), now: now)
            _ = linter.lint(manifests.map { ($0.object, $0.source) })
        }
    }
}

extension String {
    init?(validatingUTF8 bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        self = text
    }
}
