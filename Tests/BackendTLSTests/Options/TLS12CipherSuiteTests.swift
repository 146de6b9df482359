import BackendTLS
import Testing

/// `TLS12CipherSuite`: IANA and OpenSSL spellings of one suite resolve to the same value.
struct TLS12CipherSuiteTests {
    @Test(arguments: TLS12CipherSuite.all)
    func resolvesBothSpellings(_ suite: TLS12CipherSuite) {
        #expect(TLS12CipherSuite.named(suite.ianaName) == suite)
        #expect(TLS12CipherSuite.named(suite.openSSLName) == suite)
    }

    @Test(arguments: ["TLS_AES_128_GCM_SHA256", "RC4-SHA", "tls_ecdhe_rsa_with_aes_128_gcm_sha256", ""])
    func doesNotResolveOtherNames(_ name: String) {
        #expect(TLS12CipherSuite.named(name) == nil)
    }

    @Test func namesAreUnique() {
        let names = TLS12CipherSuite.all.flatMap { [$0.ianaName, $0.openSSLName] }
        #expect(Set(names).count == names.count)
    }
}
