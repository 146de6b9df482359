import BackendTLS
import NIOCore

/// Idle upstream HTTP/1.1 connections, per event loop, keyed by address, TLS settings and configuration
/// generation: a connection is only reused for exactly the settings it was verified under.
///
/// Confined to one event loop (one pool per loop), so it needs no lock.
final class UpstreamConnectionPool {
    struct Key: Hashable {
        let host: String
        let port: Int
        let settings: ResolvedBackendTLS?
        let generation: Int

        /// Settings (trust anchors' DER included) take part in equality, not in the hash: hashing them cost
        /// more per request than the rest of the lookup, and within one generation an address has one setting.
        func hash(into hasher: inout Hasher) {
            hasher.combine(host)
            hasher.combine(port)
            hasher.combine(generation)
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.port == rhs.port && lhs.generation == rhs.generation && lhs.host == rhs.host
                && lhs.settings == rhs.settings
        }
    }

    private struct Idle {
        let channel: any Channel
        let expiry: Scheduled<Void>
    }

    private var idle: [Key: [Idle]] = [:]
    /// Channels whose close callback is registered: once per connection, not per check-in (a connection
    /// serves many requests; a callback per check-in grew memory with every request).
    private var watched: Set<ObjectIdentifier> = []
    private let maximumPerKey: Int
    private let idleTimeout: TimeAmount

    init(maximumPerKey: Int, idleTimeout: TimeAmount) {
        self.maximumPerKey = maximumPerKey
        self.idleTimeout = idleTimeout
    }

    func checkout(_ key: Key) -> (any Channel)? {
        while var list = idle[key], let entry = list.popLast() {
            idle[key] = list.isEmpty ? nil : list
            entry.expiry.cancel()
            if entry.channel.isActive { return entry.channel }
        }
        return nil
    }

    func checkin(_ channel: any Channel, key: Key) {
        guard channel.isActive, (idle[key]?.count ?? 0) < maximumPerKey else {
            channel.close(promise: nil)
            return
        }
        let expiry = channel.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
        idle[key, default: []].append(Idle(channel: channel, expiry: expiry))
        let identifier = ObjectIdentifier(channel)
        if watched.insert(identifier).inserted {
            channel.closeFuture.assumeIsolated().whenComplete { [weak self] _ in
                self?.watched.remove(identifier)
                self?.forget(channel, key: key)
            }
        }
    }

    private func forget(_ channel: any Channel, key: Key) {
        idle[key]?.removeAll { $0.channel === channel }
        if idle[key]?.isEmpty == true { idle[key] = nil }
    }
}
