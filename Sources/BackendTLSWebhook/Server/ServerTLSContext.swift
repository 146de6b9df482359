import NIOSSL

extension WebhookConfiguration {
    /// The serving TLS context: TLS 1.2+, ALPN (h2 unless disabled, http/1.1), the reloader's callback for
    /// the current certificate, and client-certificate verification when a client CA is configured.
    func makeServerTLSContext(reloader: ServingCertificateReloader) throws -> NIOSSLContext {
        let certificate = reloader.certificate
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificate.chain.map { .certificate($0) },
            privateKey: .privateKey(certificate.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = disableHTTP2 ? ["http/1.1"] : ["h2", "http/1.1"]
        configuration.sslContextCallback = reloader.contextCallback
        if let clientCAFile = tls.clientCAFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCAFile))
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
