import BackendTLS
import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import BackendTLSWebhook

/// Serving-certificate reload from files: unchanged, swapped, broken pairs, and the running service.
struct ServingCertificateReloaderTests {
    /// Two independent development PKIs, `a` and `b`, and a serving directory that starts with `a`'s pair.
    struct Setup {
        let root: String
        let a: DevelopmentCertificate.Files
        let b: DevelopmentCertificate.Files
        let serving: String

        var certificateFile: String { serving + "/tls.crt" }
        var keyFile: String { serving + "/tls.key" }

        init() throws {
            root = WebhookFixtures.temporaryDirectory("reloader")
            a = try DevelopmentCertificate.generate(in: root + "/a")
            b = try DevelopmentCertificate.generate(in: root + "/b")
            serving = root + "/serving"
            try FileManager.default.createDirectory(atPath: serving, withIntermediateDirectories: true)
            try install(certificate: a.serverCertificate, key: a.serverKey)
        }

        /// Replaces the serving files the way an atomic writer does: write aside, then rename over.
        func install(certificate: String, key: String) throws {
            for (source, destination) in [(certificate, certificateFile), (key, keyFile)] {
                let temporary = destination + ".new"
                try? FileManager.default.removeItem(atPath: temporary)
                try FileManager.default.copyItem(atPath: source, toPath: temporary)
                _ = rename(temporary, destination)
            }
        }

        func reloader(pollInterval: Duration = .seconds(1)) throws -> ServingCertificateReloader {
            try ServingCertificateReloader(
                tls: .init(certificateFile: certificateFile, keyFile: keyFile, pollInterval: pollInterval),
                logger: WebhookFixtures.quietLogger, metrics: WebhookMetrics())
        }

        func leaf(_ path: String) throws -> NIOSSLCertificate {
            try #require(try NIOSSLCertificate.fromPEMFile(path).first)
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test func loadsTheInitialPair() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let reloader = try setup.reloader()
        #expect(reloader.certificate.chain.first == (try setup.leaf(setup.a.serverCertificate)))
    }

    @Test func initFailsOnAMismatchedPair() throws {
        let setup = try Setup()
        defer { setup.remove() }
        try setup.install(certificate: setup.a.serverCertificate, key: setup.b.serverKey)
        #expect(
            throws: ServingCertificate.LoadError.keyMismatch(
                certificatePath: setup.certificateFile, keyPath: setup.keyFile)
        ) {
            _ = try setup.reloader()
        }
    }

    @Test func reloadIsFalseWhenNothingChanged() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let reloader = try setup.reloader()
        #expect(!reloader.reload())
        // Rewriting the same bytes is not a change either.
        try setup.install(certificate: setup.a.serverCertificate, key: setup.a.serverKey)
        #expect(!reloader.reload())
    }

    @Test func reloadInstallsANewPair() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let reloader = try setup.reloader()
        try setup.install(certificate: setup.b.serverCertificate, key: setup.b.serverKey)
        #expect(reloader.reload())
        #expect(reloader.certificate.chain.first == (try setup.leaf(setup.b.serverCertificate)))
        #expect(!reloader.reload())
    }

    @Test func aKeyThatDoesNotMatchKeepsTheOldPair() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let reloader = try setup.reloader()
        let old = try setup.leaf(setup.a.serverCertificate)
        try setup.install(certificate: setup.b.serverCertificate, key: setup.a.serverKey)
        #expect(!reloader.reload())
        #expect(reloader.certificate.chain.first == old)
        // Once the matching key arrives too, the new pair goes in.
        try setup.install(certificate: setup.b.serverCertificate, key: setup.b.serverKey)
        #expect(reloader.reload())
        #expect(reloader.certificate.chain.first == (try setup.leaf(setup.b.serverCertificate)))
    }

    @Test func unreadableOrGarbageFilesKeepTheOldPair() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let reloader = try setup.reloader()
        let old = try setup.leaf(setup.a.serverCertificate)
        try FileManager.default.removeItem(atPath: setup.keyFile)
        #expect(!reloader.reload())
        try "not a key\n".write(toFile: setup.keyFile, atomically: true, encoding: .utf8)
        #expect(!reloader.reload())
        try "not a certificate\n".write(toFile: setup.certificateFile, atomically: true, encoding: .utf8)
        #expect(!reloader.reload())
        #expect(reloader.certificate.chain.first == old)
    }

    @Test func contextCallbackHandsOutTheCurrentPair() throws {
        let setup = try Setup()
        defer { setup.remove() }
        let reloader = try setup.reloader()
        try setup.install(certificate: setup.b.serverCertificate, key: setup.b.serverKey)
        let loop = EmbeddedEventLoop()
        func override() throws -> NIOSSLContextConfigurationOverride {
            let promise = loop.makePromise(of: NIOSSLContextConfigurationOverride.self)
            reloader.contextCallback(NIOSSLClientExtensionValues(serverHostname: "localhost"), promise)
            return try promise.futureResult.wait()
        }
        let before = try override()
        #expect(before.certificateChain == [.certificate(try setup.leaf(setup.a.serverCertificate))])
        #expect(before.privateKey == .privateKey(try NIOSSLPrivateKey(file: setup.a.serverKey, format: .pem)))
        #expect(reloader.reload())
        let after = try override()
        #expect(after.certificateChain == [.certificate(try setup.leaf(setup.b.serverCertificate))])
        #expect(after.privateKey == .privateKey(try NIOSSLPrivateKey(file: setup.b.serverKey, format: .pem)))
    }

    /// Runs the reloader as a service, swaps the files while it runs, and shuts it down gracefully.
    func runAndSwap(
        setup: Setup,
        pollInterval: Duration,
        swap: @Sendable () throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let reloader = try setup.reloader(pollInterval: pollInterval)
        let expected = try setup.leaf(setup.b.serverCertificate)
        let outcome: Result<Void, any Error> = await testGracefulShutdown { trigger in
            await withTaskGroup(of: Result<Void, any Error>.self) { group in
                group.addTask {
                    do {
                        try await reloader.run()
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
                // Let the watch be installed before the files change.
                try? await Task.sleep(for: .milliseconds(500))
                do {
                    try swap()
                } catch {
                    Issue.record("swap failed: \(error)", sourceLocation: sourceLocation)
                }
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(2)
                while reloader.certificate.chain.first != expected, clock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                #expect(
                    reloader.certificate.chain.first == expected, "not reloaded within 2 s",
                    sourceLocation: sourceLocation)
                trigger.triggerGracefulShutdown()
                return await group.next() ?? .success(())
            }
        }
        // Regression: run() once rethrew the CancellationError of its polling sleep on shutdown, so a
        // ServiceGroup treated a clean SIGTERM as a failure (exit status 1).
        try outcome.get()
    }

    #if os(Linux)
        @Test(.timeLimit(.minutes(1)))
        func fileEventReloadsWithoutWaitingForThePoll() async throws {
            let setup = try Setup()
            defer { setup.remove() }
            // An hour between polls: only inotify can notice the change within the two seconds allowed.
            try await runAndSwap(setup: setup, pollInterval: .seconds(3600)) {
                try setup.install(certificate: setup.b.serverCertificate, key: setup.b.serverKey)
            }
        }
    #endif

    @Test(.timeLimit(.minutes(1)))
    func secretVolumeSymlinkSwapIsPickedUp() async throws {
        let setup = try Setup()
        defer { setup.remove() }
        // Lay the serving directory out like a Kubernetes Secret volume: tls.crt -> ..data/tls.crt, ..data -> dir.
        let volume = setup.root + "/volume"
        let manager = FileManager.default
        try manager.createDirectory(atPath: volume + "/..2026_06_01_a", withIntermediateDirectories: true)
        try manager.copyItem(atPath: setup.a.serverCertificate, toPath: volume + "/..2026_06_01_a/tls.crt")
        try manager.copyItem(atPath: setup.a.serverKey, toPath: volume + "/..2026_06_01_a/tls.key")
        try manager.createSymbolicLink(atPath: volume + "/..data", withDestinationPath: "..2026_06_01_a")
        try manager.createSymbolicLink(atPath: volume + "/tls.crt", withDestinationPath: "..data/tls.crt")
        try manager.createSymbolicLink(atPath: volume + "/tls.key", withDestinationPath: "..data/tls.key")
        let volumeSetup = try Setup.volume(setup, at: volume)
        try await runAndSwap(setup: volumeSetup, pollInterval: .seconds(1)) {
            try manager.createDirectory(atPath: volume + "/..2026_06_01_b", withIntermediateDirectories: true)
            try manager.copyItem(atPath: setup.b.serverCertificate, toPath: volume + "/..2026_06_01_b/tls.crt")
            try manager.copyItem(atPath: setup.b.serverKey, toPath: volume + "/..2026_06_01_b/tls.key")
            try manager.createSymbolicLink(atPath: volume + "/..data_tmp", withDestinationPath: "..2026_06_01_b")
            guard rename(volume + "/..data_tmp", volume + "/..data") == 0 else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
    }
}

extension ServingCertificateReloaderTests.Setup {
    /// The same PKIs, serving from another directory.
    fileprivate static func volume(_ setup: Self, at serving: String) throws -> Self {
        Self(root: setup.root, a: setup.a, b: setup.b, serving: serving)
    }

    fileprivate init(root: String, a: DevelopmentCertificate.Files, b: DevelopmentCertificate.Files, serving: String) {
        self.root = root
        self.a = a
        self.b = b
        self.serving = serving
    }
}
