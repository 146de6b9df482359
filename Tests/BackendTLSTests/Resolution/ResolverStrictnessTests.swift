import BackendTLS
import Testing

/// Regressions from review: whatever enforcement admission ran with, resolution gives the wire exactly the
/// policy or a refusal — never a weakened version of it.
struct ResolverStrictnessTests {
    static let store: StoreSnapshot = {
        var store = StoreSnapshot()
        store.insert(Fixtures.service(ports: [Service.Port(name: "https", port: 443)]))
        return store
    }()

    static func resolve(_ spec: String, configuration: ValidationConfiguration) -> Resolution {
        var store = Self.store
        store.insert(Fixtures.policy(spec: spec))
        let context = Fixtures.context(store, configuration: configuration)
        return Resolver(context: context).resolve(namespace: "default", service: "backend", port: .number(443))
    }

    @Test(arguments: [
        ValidationConfiguration(ruleSet: .strict, enforcement: .warn),
        ValidationConfiguration(ruleSet: .upstream),
    ])
    func malformedPinIsRefusedEvenWhenAdmissionOnlyWarns(_ configuration: ValidationConfiguration) {
        let spec = Fixtures.spec(
            caConfigMap: nil, wellKnown: "System", options: #"{"backendtls.dev/verify-certificate-hash":"not-a-hash"}"#)
        guard case .failed(let failure) = Self.resolve(spec, configuration: configuration) else {
            Issue.record("resolved without the pin")
            return
        }
        #expect(failure.reason == .invalidOption)
        #expect(failure.message.contains("verify-certificate-hash"))
    }

    @Test func unknownWellKnownSetIsRefusedEvenWhenConfiguredAsKnown() {
        var configuration = ValidationConfiguration()
        configuration.knownWellKnownCACertificates = ["System", "example.com/corporate"]
        let spec = Fixtures.spec(caConfigMap: nil, wellKnown: "example.com/corporate")
        guard case .failed(let failure) = Self.resolve(spec, configuration: configuration) else {
            Issue.record("resolved a trust set the proxy does not have as the system store")
            return
        }
        #expect(failure.message.contains("only \"System\""))
        guard
            case .resolved(let settings) = Self.resolve(
                Fixtures.spec(caConfigMap: nil, wellKnown: "System"), configuration: configuration)
        else {
            Issue.record("System did not resolve")
            return
        }
        #expect(settings.trust == .system)
    }
}
