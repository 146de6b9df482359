import BackendTLSServerSupport
import Testing

/// `--listen`, `--probe-listen` and `--metrics-listen` values.
struct ListenAddressTests {
    @Test(arguments: [
        (":8443", "0.0.0.0", 8443),
        ("127.0.0.1:8443", "127.0.0.1", 8443),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("localhost:65535", "localhost", 65535),
        ("[::1]:8443", "::1", 8443),
        ("[::]:9090", "::", 9090),
        ("[fe80::1%eth0]:8081", "fe80::1%eth0", 8081),
    ])
    func parses(text: String, host: String, port: Int) throws {
        let address = try #require(ListenAddress(parsing: text))
        #expect(address == ListenAddress(host: host, port: port))
    }

    @Test(arguments: [
        "", "8443", ":", "127.0.0.1", "127.0.0.1:", ":http", ":65536", ":-1", "127.0.0.1:84x3", "[::1]",
        "localhost:99999999999999999999",
    ])
    func rejects(text: String) {
        #expect(ListenAddress(parsing: text) == nil, "\(text.debugDescription) parsed")
    }

    @Test(arguments: [
        // A bare IPv6 address without brackets or port would otherwise bind host ":" on port 1.
        "::1",
        "::1:8443",
        // Unbalanced brackets.
        "[::1:8443",
        "::1]:8443",
    ])
    func rejectsAmbiguousIPv6(text: String) {
        // Regression: these once parsed (e.g. "::1" as host ":" port 1).
        #expect(
            ListenAddress(parsing: text) == nil,
            "\(text.debugDescription) parsed as \(String(describing: ListenAddress(parsing: text)))")
    }

    @Test(arguments: [
        (ListenAddress(host: "127.0.0.1", port: 8443), "127.0.0.1:8443"),
        (ListenAddress(host: "::1", port: 8443), "[::1]:8443"),
        (ListenAddress(host: "0.0.0.0", port: 9090), "0.0.0.0:9090"),
    ])
    func descriptionRoundTrips(address: ListenAddress, text: String) {
        #expect(address.description == text)
        #expect(ListenAddress(parsing: text) == address)
    }
}
