import BackendTLS
import BackendTLSManifests
import Foundation
import Testing

/// A bounded randomized run of the decoders untrusted bytes reach (the brief `make test` part of fuzzing;
/// `make fuzz` runs libFuzzer on the same surface). Properties checked, not just "no crash".
struct DecoderFuzzTests {
    static let seeds: [[UInt8]] = {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/seeds")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.sorted().compactMap {
            FileManager.default.contents(atPath: directory.appendingPathComponent($0).path).map(Array.init)
        }
    }()

    static func mutate(_ input: inout [UInt8], _ generator: inout SplitMix64) {
        for _ in 0..<Int(generator.next() % 6 + 1) {
            switch generator.next() % 4 {
            case 0 where !input.isEmpty:
                input[Int(generator.next() % UInt64(input.count))] ^= UInt8(1 << (generator.next() % 8))
            case 1:
                input.insert(
                    UInt8(truncatingIfNeeded: generator.next()), at: Int(generator.next() % UInt64(input.count + 1)))
            case 2 where !input.isEmpty:
                let start = Int(generator.next() % UInt64(input.count))
                input.removeSubrange(start..<min(input.count, start + Int(generator.next() % 16 + 1)))
            default:
                let tokens: [String] = [
                    "{", "}", "[", "\"", ",", "\\u", "null", "\n---\n", "-----END CERTIFICATE-----\n",
                ]
                input.insert(
                    contentsOf: Array(tokens[Int(generator.next() % UInt64(tokens.count))].utf8),
                    at: Int(generator.next() % UInt64(input.count + 1)))
            }
        }
    }

    @Test func seedsArePresent() {
        #expect(Self.seeds.count >= 3)
    }

    @Test func mutatedInputsNeverCrashAndJSONRoundTrips() throws {
        var generator = SplitMix64(seed: 0xB7_15)
        let inspector = CABundleInspector()
        let evaluator = AdmissionEvaluator(configuration: ValidationConfiguration())
        var parsed = 0
        for iteration in 0..<1500 {
            var input = Self.seeds[iteration % Self.seeds.count]
            Self.mutate(&input, &generator)
            if let value = try? JSONParser.parse(input) {
                parsed += 1
                // Property: what we parse, we serialize and parse back to the same value.
                #expect(try JSONParser.parse(JSONSerializer.serializeBytes(value)) == value)
            }
            do {
                let review = try AdmissionReview(bytes: input)
                let decision = evaluator.evaluate(review.request, endpoint: .validate, context: Fixtures.context())
                let response = AdmissionResponse(uid: review.request.uid, decision: decision)
                #expect(response.uid == review.request.uid)
                #expect(response.warnings.allSatisfy { $0.utf8.count <= AdmissionResponse.maximumWarningLength })
            } catch {
                #expect(!error.description.isEmpty)
            }
            _ = try? PEMScanner.scan(input)
            let inspection = inspector.inspect(input, now: Fixtures.now)
            #expect(inspection.hasErrors || !inspection.certificates.isEmpty)
            if let text = String(validating: input, as: UTF8.self),
                let manifests = try? ManifestParser.parse(text, source: "fuzz")
            {
                _ = Linter(configuration: ValidationConfiguration(), now: Fixtures.now).lint(
                    manifests.map { ($0.object, $0.source) })
            }
        }
        #expect(parsed > 0)
    }
}
