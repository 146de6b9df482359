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
        let generation: Int
        /// Held by reference: keys are copied and compared on every request, and the settings (trust
        /// anchors' DER included) are large; a key reused for a connection's next request compares by identity.
        private let boxed: SettingsBox
        /// Computed once: a route's key is remembered per client connection (see `HTTPProxyHandler.Memo`) and
        /// looked up on every request, and hashing the host each time cost more than the rest of the lookup.
        private let addressHash: Int

        var settings: ResolvedBackendTLS? { boxed.settings }

        init(host: String, port: Int, settings: ResolvedBackendTLS?, generation: Int) {
            self.host = host
            self.port = port
            self.generation = generation
            self.boxed = SettingsBox(settings)
            var hasher = Hasher()
            hasher.combine(host)
            hasher.combine(port)
            hasher.combine(generation)
            self.addressHash = hasher.finalize()
        }

        /// Settings take part in equality, not in the hash: hashing them cost more per request than the rest
        /// of the lookup, and within one generation an address has one setting.
        func hash(into hasher: inout Hasher) {
            hasher.combine(addressHash)
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.port == rhs.port && lhs.generation == rhs.generation && lhs.host == rhs.host
                && (lhs.boxed === rhs.boxed || lhs.boxed.settings == rhs.boxed.settings)
        }
    }

    private final class SettingsBox: Sendable {
        let settings: ResolvedBackendTLS?
        init(_ settings: ResolvedBackendTLS?) { self.settings = settings }
    }

    /// A connection lent out: with its relay, kept beside it because finding a handler in a pipeline (a walk and
    /// a cast per handler) cost more per request than the rest of a checkout.
    struct Lent {
        let channel: any Channel
        let relay: UpstreamResponseRelay
    }

    private struct Idle {
        let lent: Lent
        let since: NIODeadline
        var channel: any Channel { lent.channel }
    }

    private var idle: [Key: [Idle]] = [:]
    /// One instance of each key in use (see `interned(_:)`), of the newest generation seen.
    private var keys: Set<Key> = []
    /// Channels whose close callback is registered: once per connection, not per check-in (a connection
    /// serves many requests; a callback per check-in grew memory with every request).
    private var watched: Set<ObjectIdentifier> = []
    /// Closes connections idle for longer than the timeout; runs only while something is pooled. One sweep
    /// instead of a timer per check-in: scheduling and cancelling a task per request cost more than the lookup.
    private var sweepScheduled = false
    private let maximumPerKey: Int
    private let idleTimeout: TimeAmount
    private let sweepInterval: TimeAmount
    /// The configuration generation in force: connections of older ones can never be lent again (their key
    /// names their generation), so they are closed, not kept until they idle out.
    private let currentGeneration: @Sendable () -> Int

    init(
        maximumPerKey: Int, idleTimeout: TimeAmount, currentGeneration: @escaping @Sendable () -> Int = { Int.min }
    ) {
        self.maximumPerKey = maximumPerKey
        self.idleTimeout = idleTimeout
        self.sweepInterval = min(idleTimeout, .seconds(1))
        self.currentGeneration = currentGeneration
    }

    /// The pool's instance of a key equal to `key`. Client connections resolve their keys separately, and keys
    /// made apart compare their settings in full (a copy and a comparison of every field, trust anchors
    /// included) where keys sharing an instance compare by identity: a lookup per request in every pool.
    func interned(_ key: Key) -> Key {
        if let newest = keys.first?.generation, newest < key.generation { keys.removeAll() }
        return keys.insert(key).memberAfterInsert
    }

    func checkout(_ key: Key) -> Lent? {
        // Popped in place; an emptied list stays until the sweep, so the next check-in of this key (the common
        // keep-alive cycle) allocates nothing.
        while let entry = idle[key]?.popLast() {
            guard entry.channel.isActive else { continue }
            // Between sweeps an expired connection may still be here: it is closed, never lent.
            guard entry.channel.eventLoop.now - entry.since < idleTimeout else {
                entry.channel.close(promise: nil)
                continue
            }
            return entry.lent
        }
        return nil
    }

    func checkin(_ channel: any Channel, relay: UpstreamResponseRelay, key: Key) {
        guard channel.isActive, (idle[key]?.count ?? 0) < maximumPerKey, key.generation >= currentGeneration() else {
            channel.close(promise: nil)
            return
        }
        let eventLoop = channel.eventLoop
        idle[key, default: []].append(Idle(lent: Lent(channel: channel, relay: relay), since: eventLoop.now))
        scheduleSweep(on: eventLoop)
        let identifier = ObjectIdentifier(channel)
        if watched.insert(identifier).inserted {
            channel.closeFuture.assumeIsolated().whenComplete { [weak self] _ in
                self?.watched.remove(identifier)
                self?.forget(channel, key: key)
            }
        }
    }

    /// Closes connections idle too long, and every one made under an older configuration generation.
    private func closeExpired(now: NIODeadline) {
        let generation = currentGeneration()
        for (key, list) in idle {
            var kept: [Idle] = []
            for entry in list {
                if key.generation >= generation, now - entry.since < idleTimeout {
                    kept.append(entry)
                } else {
                    entry.channel.close(promise: nil)
                }
            }
            if kept.count < list.count || kept.isEmpty { idle[key] = kept.isEmpty ? nil : kept }
        }
    }

    private func scheduleSweep(on eventLoop: any EventLoop) {
        guard !sweepScheduled else { return }
        sweepScheduled = true
        eventLoop.assumeIsolated().scheduleTask(in: sweepInterval) { [weak self] in
            guard let self else { return }
            sweepScheduled = false
            closeExpired(now: eventLoop.now)
            if !idle.isEmpty { scheduleSweep(on: eventLoop) }
        }
    }

    private func forget(_ channel: any Channel, key: Key) {
        idle[key]?.removeAll { $0.channel === channel }
    }
}
