import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension WebhookEndToEndTests {
    /// The serving certificate replaced on disk while clients keep coming, the way Kubernetes does it.
    @Suite struct CertificateRotation {
        /// A Secret volume as the kubelet writes it: `tls.crt -> ..data/tls.crt`, `..data -> ..<generation>`,
        /// and an update is a new generation directory plus one atomic rename of the `..data` symlink.
        struct SecretVolume {
            let directory: URL
            var certificateFile: String { directory.appendingPathComponent("tls.crt").path }
            var keyFile: String { directory.appendingPathComponent("tls.key").path }

            init(_ directory: URL) throws {
                self.directory = directory
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }

            func publish(certificate: String, key: String) throws {
                let fileManager = FileManager.default
                let previous = try? fileManager.destinationOfSymbolicLink(atPath: path("..data"))
                let generation = "..\(UUID().uuidString)"
                try fileManager.createDirectory(atPath: path(generation), withIntermediateDirectories: false)
                try fileManager.copyItem(atPath: certificate, toPath: path("\(generation)/tls.crt"))
                try fileManager.copyItem(atPath: key, toPath: path("\(generation)/tls.key"))
                try fileManager.createSymbolicLink(atPath: path("..data_tmp"), withDestinationPath: generation)
                guard rename(path("..data_tmp"), path("..data")) == 0 else {
                    throw WebhookTestError("rename ..data_tmp over ..data failed: \(errno)")
                }
                for name in ["tls.crt", "tls.key"] where !fileManager.fileExists(atPath: path(name)) {
                    try fileManager.createSymbolicLink(atPath: path(name), withDestinationPath: "..data/\(name)")
                }
                if let previous { try fileManager.removeItem(atPath: path(previous)) }
            }

            private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        }

        /// curl in a loop on a background thread, each run several requests on one keep-alive connection
        /// (HTTP/1.1) or as parallel streams on one connection (HTTP/2), until stopped.
        final class RequestLoop: @unchecked Sendable {
            private let lock = NSLock()
            private var stopping = false
            private var total = 0
            private var failures: [String] = []
            private let finished = DispatchSemaphore(value: 0)

            init(url: String, bodyFile: String, trust: String, http: String, requestsPerConnection: Int = 8) {
                var arguments = [
                    "-sS", "--max-time", "10", "--cacert", trust, http, "-H", "Content-Type: application/json",
                    "--data-binary", "@\(bodyFile)", "-w", "%{http_code} %{http_version}\n",
                ]
                if http == "--http2" { arguments.append("--parallel") }
                for _ in 0..<requestsPerConnection { arguments += ["-o", "/dev/null", url] }
                let command = arguments
                let thread = Thread { [self] in
                    while !lock.withLock({ stopping }) {
                        let run = try? CurlProcess.run(command)
                        let lines = String(decoding: run?.standardOutput ?? Data(), as: UTF8.self)
                            .split(separator: "\n")
                        lock.withLock {
                            total += lines.count
                            failures += lines.filter { !$0.hasPrefix("200 ") }.map { "\(http): \($0)" }
                            if run?.exitCode != 0 || lines.count != requestsPerConnection {
                                let exit = run?.exitCode ?? -1
                                let error = run?.standardError ?? ""
                                failures.append("\(http): curl exit \(exit), \(lines.count) answers: \(error)")
                            }
                        }
                    }
                    finished.signal()
                }
                thread.start()
            }

            var count: Int { lock.withLock { total } }

            /// Stops after the current run and returns how many requests were answered and what failed.
            func stop() -> (total: Int, failures: [String]) {
                lock.withLock { stopping = true }
                finished.wait()
                return lock.withLock { (total, failures) }
            }
        }

        static func trusts(_ webhook: WebhookProcess, _ caFile: String) throws -> CurlResult {
            try webhook.curl(["--cacert", caFile, "--http1.1", "-X", "POST", "--data", "{}", webhook.url("/validate")])
        }

        static let expiryMetric = "backendtls_webhook_serving_certificate_expiry_timestamp_seconds"
        static let reloadsMetric = "backendtls_webhook_certificate_reloads_total"

        @Test func rotationUnderLoadFailsNoRequestAndNewHandshakesSeeTheNewCA() throws {
            let base = try ProcessRunner.temporaryDirectory("backendtls-webhook-rotation")
            defer { try? FileManager.default.removeItem(at: base) }
            let old = try OpenSSLPKI.generate(in: base.appendingPathComponent("old"), name: "Old CA", serverDays: 20)
            let new = try OpenSSLPKI.generate(in: base.appendingPathComponent("new"), name: "New CA", serverDays: 60)
            let volume = try SecretVolume(base.appendingPathComponent("secret"))
            try volume.publish(certificate: old.serverCertificate, key: old.serverKey)
            // During a rotation the API server's caBundle holds both CAs.
            let bundle = base.appendingPathComponent("both.crt").path
            try
                (String(contentsOfFile: old.caCertificate, encoding: .utf8)
                + String(contentsOfFile: new.caCertificate, encoding: .utf8))
                .write(toFile: bundle, atomically: true, encoding: .utf8)
            let bodyFile = base.appendingPathComponent("review.json")
            try AdmissionFixture.data(
                AdmissionFixture.policyReview(AdmissionFixture.policy("p", service: "api"), dryRun: true)
            ).write(to: bodyFile)

            let webhook = try WebhookProcess.start(
                ["--tls-cert-file", volume.certificateFile, "--tls-key-file", volume.keyFile],
                caFile: old.caCertificate)
            defer { webhook.stop() }
            #expect(try Self.trusts(webhook, old.caCertificate).status == 400)
            #expect(try Self.trusts(webhook, new.caCertificate).exitCode == 60, "not yet the new certificate")
            let expiryBefore = try webhook.metrics().value(Self.expiryMetric)

            let loops = ["--http1.1", "--http2"].map {
                RequestLoop(url: webhook.url("/validate"), bodyFile: bodyFile.path, trust: bundle, http: $0)
            }
            #expect(eventually(timeout: 5) { loops.allSatisfy { $0.count >= 16 } }, "the loops got going")
            try volume.publish(certificate: new.serverCertificate, key: new.serverKey)
            let swapped = Date()
            let switched = eventually(timeout: 5) {
                (try? Self.trusts(webhook, new.caCertificate))?.status == 400
            }
            #expect(switched, "new handshakes must get the new certificate:\n\(webhook.log.suffix(2000))")
            let countAtSwitch = loops.map(\.count)
            #expect(eventually(timeout: 5) { zip(loops, countAtSwitch).allSatisfy { $0.count >= $1 + 16 } })
            let outcomes = loops.map { $0.stop() }
            for outcome in outcomes {
                #expect(outcome.total >= 32)
                #expect(outcome.failures.isEmpty, "failed during the swap: \(outcome.failures.prefix(10))")
            }
            #expect(Date().timeIntervalSince(swapped) < 10)

            let oldTrust = try Self.trusts(webhook, old.caCertificate)
            #expect(oldTrust.status == nil, "the old CA must no longer verify new handshakes: \(oldTrust)")
            #expect(oldTrust.exitCode == 60, "\(oldTrust)")
            let metrics = try webhook.metrics()
            #expect(metrics.value(Self.reloadsMetric, ["result": "success"]) >= 1)
            #expect(
                metrics.value(Self.expiryMetric) - expiryBefore > 30 * 86_400,
                "the expiry gauge follows the new certificate (20 → 60 days)")
            #expect(webhook.log.contains("serving certificate reloaded"))
        }

        @Test func aMismatchedPairIsRefusedWhileTheOldOneKeepsServing() throws {
            let base = try ProcessRunner.temporaryDirectory("backendtls-webhook-rotation")
            defer { try? FileManager.default.removeItem(at: base) }
            let old = try OpenSSLPKI.generate(in: base.appendingPathComponent("old"), name: "Old CA")
            let new = try OpenSSLPKI.generate(in: base.appendingPathComponent("new"), name: "New CA")
            let volume = try SecretVolume(base.appendingPathComponent("secret"))
            try volume.publish(certificate: old.serverCertificate, key: old.serverKey)
            let webhook = try WebhookProcess.start(
                ["--tls-cert-file", volume.certificateFile, "--tls-key-file", volume.keyFile],
                caFile: old.caCertificate)
            defer { webhook.stop() }
            let failuresBefore = try webhook.metrics().value(Self.reloadsMetric, ["result": "failure"])

            // The new certificate with the old key: they do not belong together.
            try volume.publish(certificate: new.serverCertificate, key: old.serverKey)
            let counted = eventually(timeout: 5) {
                ((try? webhook.metrics())?.value(Self.reloadsMetric, ["result": "failure"]) ?? 0) >= failuresBefore + 1
            }
            #expect(counted, "certificate_reloads_total{result=\"failure\"} must count the refusal")
            #expect(webhook.log.contains("refusing new serving certificate"), "\(webhook.log.suffix(2000))")
            usleep(1_200_000)  // a poll or two later, still the old pair
            #expect(try Self.trusts(webhook, old.caCertificate).status == 400, "the old pair keeps serving")
            #expect(try Self.trusts(webhook, new.caCertificate).exitCode == 60)
            #expect(try webhook.probe("/readyz").status == 200)
            let answer = try webhook.review(
                "/validate", AdmissionFixture.policyReview(AdmissionFixture.policy("p", service: "api")),
                http: "--http2")
            #expect(answer.allowed == true)

            // A good pair afterwards is taken.
            try volume.publish(certificate: new.serverCertificate, key: new.serverKey)
            #expect(eventually(timeout: 5) { (try? Self.trusts(webhook, new.caCertificate))?.status == 400 })
        }

        /// Plain files replaced by rename (what `--dev-certificate` itself does), picked up without a restart.
        @Test func filesRenamedOverThePairArePickedUp() throws {
            let base = try ProcessRunner.temporaryDirectory("backendtls-webhook-rotation")
            defer { try? FileManager.default.removeItem(at: base) }
            let new = try OpenSSLPKI.generate(in: base.appendingPathComponent("new"), name: "New CA")
            let webhook = try WebhookProcess.start()
            defer { webhook.stop() }
            let pki = webhook.pki.path
            #expect(try Self.trusts(webhook, webhook.caFile).status == 400)
            for (source, target) in [(new.serverKey, "tls.key"), (new.serverCertificate, "tls.crt")] {
                try FileManager.default.copyItem(atPath: source, toPath: "\(pki)/.\(target).new")
                #expect(rename("\(pki)/.\(target).new", "\(pki)/\(target)") == 0)
            }
            #expect(eventually(timeout: 5) { (try? Self.trusts(webhook, new.caCertificate))?.status == 400 })
            #expect(try Self.trusts(webhook, webhook.caFile).exitCode == 60)
        }
    }
}
