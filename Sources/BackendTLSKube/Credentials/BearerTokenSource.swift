import Foundation
import Synchronization

/// A bearer token, fixed or read from a file that is re-read as it rotates.
///
/// Bound service-account tokens expire (the kubelet rewrites the file about hourly), so a token read once
/// at start-up stops working. The file is re-read after `refreshInterval`, and at once after a 401.
public final class BearerTokenSource: Sendable {
    private enum Origin {
        case fixed(String)
        case file(String)
    }

    private let origin: Origin
    private let refreshInterval: Duration
    private let cached = Mutex<(token: String, readAt: ContinuousClock.Instant)?>(nil)

    public init(token: String) {
        self.origin = .fixed(token)
        self.refreshInterval = .seconds(0)
    }

    /// Reads the file now, so a missing or empty token fails at start-up rather than on the first request.
    public init(file: String, refreshInterval: Duration = .seconds(60)) throws(KubeCredentialsError) {
        self.origin = .file(file)
        self.refreshInterval = refreshInterval
        _ = try current()
    }

    /// The token to send now.
    public func current() throws(KubeCredentialsError) -> String {
        switch origin {
        case .fixed(let token):
            return token
        case .file(let path):
            let now = ContinuousClock.now
            if let cached = cached.withLock({ $0 }), now - cached.readAt < refreshInterval { return cached.token }
            let token = try Self.read(path)
            cached.withLock { $0 = (token, now) }
            return token
        }
    }

    /// The API server refused the token: read the file again on the next request.
    public func invalidate() {
        cached.withLock { $0 = nil }
    }

    public var isRotating: Bool {
        if case .file = origin { return true }
        return false
    }

    static func read(_ path: String) throws(KubeCredentialsError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeCredentialsError("cannot read the bearer token file \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw KubeCredentialsError("the bearer token file \(path) is empty") }
        return token
    }
}
