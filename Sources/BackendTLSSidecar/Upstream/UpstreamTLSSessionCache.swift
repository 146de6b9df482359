// swift-nio-ssl 2.37 offers no session API, so resumption is attached to the BoringSSL `SSL_CTX` under a
// `NIOSSLContext`. CNIOBoringSSL is linked through NIOSSL (pinned exactly in Package.swift); the
// end-to-end tests fail if resumption stops happening after an upgrade.
import CNIOBoringSSL
import NIOSSL
import Synchronization

/// Client TLS sessions of one upstream TLS context, offered again on the next connection with the same SNI.
///
/// One cache per `NIOSSLContext`, hence per exact `ResolvedBackendTLS`: a session is only offered under the
/// trust roots, name matchers, pins and versions it was first verified with. BoringSSL's reverify-on-resume
/// runs the verifier again on every resumed handshake with the stored chain, so a certificate that expired
/// or a pin that changed is still refused; resumption saves the server's signature and a round of
/// certificate parsing, never a check.
final class UpstreamTLSSessionCache: Sendable {
    /// Sessions kept per server name: TLS 1.3 tickets are used once (RFC 8446 appendix C.4), and a server
    /// sends two per handshake, so a few cover connections opened in a burst.
    static let sessionsPerName = 4
    /// Server names per context; a policy names one hostname, so more means churn, not need.
    static let names = 16
    /// Sessions older than this are not offered, whatever lifetime the server granted.
    static let lifetime: Duration = .seconds(300)

    private struct Stored {
        /// `SSL_SESSION*` with one reference owned by this cache, kept as its address to stay `Sendable`.
        let address: UInt
        let storedAt: ContinuousClock.Instant
        let singleUse: Bool
    }

    private let sessions = Mutex<[String: [Stored]]>([:])
    private let onResumed: @Sendable () -> Void

    private init(onResumed: @escaping @Sendable () -> Void) {
        self.onResumed = onResumed
    }

    deinit {
        for stored in sessions.withLock({ $0.values.flatMap { $0 } }) {
            SSL_SESSION_free(OpaquePointer(bitPattern: stored.address))
        }
    }

    /// Enables resumption on `context` before it is used for any connection. Where the BoringSSL context
    /// cannot be reached (a swift-nio-ssl whose layout changed; `isAvailable` reports it at start-up),
    /// connections do full handshakes, still verified.
    static func install(on context: NIOSSLContext, onResumed: @escaping @Sendable () -> Void) {
        guard let boringContext = boringSSLContext(of: context), sessionCacheIndex >= 0 else { return }
        let cache = UpstreamTLSSessionCache(onResumed: onResumed)
        guard SSL_CTX_set_ex_data(boringContext, sessionCacheIndex, Unmanaged.passRetained(cache).toOpaque()) == 1
        else {
            Unmanaged.passUnretained(cache).release()
            return
        }
        _ = SSL_CTX_set_session_cache_mode(boringContext, Int32(SSL_SESS_CACHE_CLIENT))
        SSL_CTX_set_reverify_on_resume(boringContext, 1)
        SSL_CTX_sess_set_new_cb(boringContext, rememberNewSession)
        SSL_CTX_set_info_callback(boringContext, offerOrCountResumption)
    }

    /// Whether this build of swift-nio-ssl lets sessions be resumed; logged once at start-up.
    static var isAvailable: Bool {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates([])  // no system bundle read from disk for a probe
        return (try? NIOSSLContext(configuration: configuration)).flatMap(boringSSLContext(of:)) != nil
    }

    private static func boringSSLContext(of context: NIOSSLContext) -> OpaquePointer? {
        Mirror(reflecting: context).children.first { $0.label == "sslContext" }?.value as? OpaquePointer
    }

    /// The cache installed on `context`, if any.
    static func attached(to context: NIOSSLContext) -> UpstreamTLSSessionCache? {
        boringSSLContext(of: context).flatMap(attached(toBoringSSLContext:))
    }

    fileprivate static func attached(to ssl: OpaquePointer) -> UpstreamTLSSessionCache? {
        SSL_get_SSL_CTX(ssl).flatMap(attached(toBoringSSLContext:))
    }

    private static func attached(toBoringSSLContext boringContext: OpaquePointer) -> UpstreamTLSSessionCache? {
        SSL_CTX_get_ex_data(boringContext, sessionCacheIndex).map {
            Unmanaged<UpstreamTLSSessionCache>.fromOpaque($0).takeUnretainedValue()
        }
    }

    /// Takes ownership of `session` (one reference); `false` leaves it with the caller.
    func keep(_ session: OpaquePointer, for name: String) -> Bool {
        guard SSL_SESSION_is_resumable(session) == 1 else { return false }
        let entry = Stored(
            address: UInt(bitPattern: session), storedAt: .now,
            singleUse: SSL_SESSION_should_be_single_use(session) == 1)
        let evicted = sessions.withLock { sessions -> [Stored] in
            var evicted: [Stored] = []
            if sessions[name] == nil, sessions.count >= Self.names, let some = sessions.keys.first {
                evicted += sessions.removeValue(forKey: some) ?? []
            }
            var list = sessions[name, default: []]
            list.append(entry)
            if list.count > Self.sessionsPerName {
                evicted += list.prefix(list.count - Self.sessionsPerName)
                list.removeFirst(list.count - Self.sessionsPerName)
            }
            sessions[name] = list
            return evicted
        }
        for stored in evicted {
            SSL_SESSION_free(OpaquePointer(bitPattern: stored.address))
        }
        return true
    }

    /// The newest fresh session for `name`, with one reference for the caller; single-use ones leave the cache.
    func take(for name: String) -> OpaquePointer? {
        let now = ContinuousClock.now
        let (found, expired) = sessions.withLock { sessions -> (UInt?, [Stored]) in
            guard var list = sessions[name] else { return (nil, []) }
            let expired = list.filter { now - $0.storedAt > Self.lifetime }
            list.removeAll { now - $0.storedAt > Self.lifetime }
            guard let newest = list.last else {
                sessions[name] = nil
                return (nil, expired)
            }
            if newest.singleUse {
                list.removeLast()
            } else {
                SSL_SESSION_up_ref(OpaquePointer(bitPattern: newest.address))
            }
            sessions[name] = list.isEmpty ? nil : list
            return (newest.address, expired)
        }
        for stored in expired {
            SSL_SESSION_free(OpaquePointer(bitPattern: stored.address))
        }
        return found.flatMap { OpaquePointer(bitPattern: $0) }
    }

    var count: Int { sessions.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    fileprivate func resumed() { onResumed() }
}

/// The `SSL_CTX` ex-data slot holding each context's cache; its free callback drops the cache with the context.
private let sessionCacheIndex: Int32 = SSL_CTX_get_ex_new_index(0, nil, nil, nil) { _, pointer, _, _, _, _ in
    guard let pointer else { return }
    Unmanaged<UpstreamTLSSessionCache>.fromOpaque(pointer).release()
}

private func serverName(_ ssl: OpaquePointer) -> String? {
    SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
}

/// BoringSSL's new-session callback: TLS 1.2 sessions at the end of a handshake, TLS 1.3 tickets as they arrive.
private func rememberNewSession(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    guard let ssl, let session, let cache = UpstreamTLSSessionCache.attached(to: ssl), let name = serverName(ssl)
    else { return 0 }
    return cache.keep(session, for: name) ? 1 : 0
}

/// BoringSSL's info callback: offers a session as the client handshake starts (still state 0, the only
/// point `SSL_set_session` accepts) and counts resumed handshakes when they finish.
private func offerOrCountResumption(_ ssl: OpaquePointer?, _ type: Int32, _ value: Int32) {
    guard let ssl, let cache = UpstreamTLSSessionCache.attached(to: ssl) else { return }
    switch type {
    case SSL_CB_HANDSHAKE_START:
        // Only before the first handshake: a renegotiation (never enabled here) would abort in SSL_set_session.
        guard SSL_is_server(ssl) == 0, SSL_get_session(ssl) == nil, let name = serverName(ssl),
            let session = cache.take(for: name)
        else {
            return
        }
        SSL_set_session(ssl, session)
        SSL_SESSION_free(session)
    case SSL_CB_HANDSHAKE_DONE:
        if SSL_session_reused(ssl) == 1 { cache.resumed() }
    default:
        break
    }
}
