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

    fileprivate struct Idle {
        let lent: Lent
        let since: NIODeadline
        var channel: any Channel { lent.channel }
    }

    /// The idle connections of one key. A client connection keeps its route's slot (see `HTTPProxyHandler.Memo`),
    /// so that a checkout and a check-in reach the list without hashing the key and looking it up: the hashing
    /// alone cost more than the rest of both.
    final class Slot {
        let key: Key
        fileprivate var idle: [Idle] = []
        /// Cleared when the pool lets go of the slot (see `slotsBeforePruning`): a connection still lent out under
        /// it is closed at its check-in, not kept where no sweep would see it.
        fileprivate(set) var isPooled = true

        fileprivate init(key: Key) { self.key = key }

        var idleCount: Int { idle.count }
    }

    /// One slot per key: a key made anew for the same route gets the same slot, and with it the same key
    /// instance, which compares by identity. Slots of older generations go with the sweep.
    private var slots: [Key: Slot] = [:]
    /// Past this many slots, making another first lets go of the empty ones: an app naming ever new authorities
    /// (each a key) must not grow the pool without bound between configuration changes, which may never come.
    static let slotsBeforePruning = 1024
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

    /// The pool's slot for a key equal to `key`.
    func slot(for key: Key) -> Slot {
        if let slot = slots[key] { return slot }
        if slots.count >= Self.slotsBeforePruning {
            for (key, slot) in slots where slot.idle.isEmpty {
                slot.isPooled = false
                slots[key] = nil
            }
        }
        let slot = Slot(key: key)
        slots[key] = slot
        return slot
    }

    func checkout(_ slot: Slot) -> Lent? {
        // Popped in place, so the next check-in of this key (the common keep-alive cycle) allocates nothing.
        while let entry = slot.idle.popLast() {
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

    func checkin(_ channel: any Channel, relay: UpstreamResponseRelay, slot: Slot) {
        guard slot.isPooled, channel.isActive, slot.idle.count < maximumPerKey,
            slot.key.generation >= currentGeneration()
        else {
            channel.close(promise: nil)
            return
        }
        let eventLoop = channel.eventLoop
        slot.idle.append(Idle(lent: Lent(channel: channel, relay: relay), since: eventLoop.now))
        scheduleSweep(on: eventLoop)
        // Once per connection, not per check-in (a connection serves many requests; a callback per check-in grew
        // memory with every request).
        if !relay.closeWatchedByPool {
            relay.closeWatchedByPool = true
            channel.closeFuture.assumeIsolated().whenComplete { [weak slot] _ in
                slot?.idle.removeAll { $0.channel === channel }
            }
        }
    }

    /// Closes connections idle too long, and every one made under an older configuration generation, whose slot
    /// goes too (a connection of it still lent out is closed at its check-in).
    private func closeExpired(now: NIODeadline) {
        let generation = currentGeneration()
        for (key, slot) in slots {
            guard key.generation >= generation else {
                for entry in slot.idle { entry.channel.close(promise: nil) }
                slot.isPooled = false
                slots[key] = nil
                continue
            }
            let isExpired = { (entry: Idle) in now - entry.since >= self.idleTimeout }
            let expired = slot.idle.filter(isExpired)
            guard !expired.isEmpty else { continue }
            slot.idle.removeAll(where: isExpired)
            for entry in expired { entry.channel.close(promise: nil) }
        }
    }

    private var anyIdle: Bool { slots.values.contains { !$0.idle.isEmpty } }

    private func scheduleSweep(on eventLoop: any EventLoop) {
        guard !sweepScheduled else { return }
        sweepScheduled = true
        eventLoop.assumeIsolated().scheduleTask(in: sweepInterval) { [weak self] in
            guard let self else { return }
            sweepScheduled = false
            closeExpired(now: eventLoop.now)
            if anyIdle { scheduleSweep(on: eventLoop) }
        }
    }
}
