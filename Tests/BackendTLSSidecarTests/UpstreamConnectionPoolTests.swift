import BackendTLS
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import BackendTLSSidecar

/// The idle-connection pool on one `EmbeddedEventLoop`: reuse only under the exact key, bounds, idle expiry.
struct UpstreamConnectionPoolTests {
    static let idleTimeout = TimeAmount.seconds(60)

    let loop = EmbeddedEventLoop()

    private func key(generation: Int = 1, settings: ResolvedBackendTLS? = nil, port: Int = 443)
        -> UpstreamConnectionPool.Key
    {
        UpstreamConnectionPool.Key(host: "127.0.0.1", port: port, settings: settings, generation: generation)
    }

    /// An active (connected) channel on the shared loop.
    private func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        return channel
    }

    private func pool(maximumPerKey: Int = 4) -> UpstreamConnectionPool {
        UpstreamConnectionPool(maximumPerKey: maximumPerKey, idleTimeout: Self.idleTimeout)
    }

    /// An app naming ever new authorities makes a key each: past the bound, empty slots are let go, and a
    /// connection lent under one of them is closed at its check-in rather than kept where no sweep sees it.
    @Test func emptySlotsAreLetGoPastTheBound() throws {
        let pool = pool()
        let lentUnder = pool.slot(for: key(port: 1))
        let pooledUnder = pool.slot(for: key(port: 2))
        let pooled = try connectedChannel()
        pool.checkin(pooled, relay: UpstreamResponseRelay(), slot: pooledUnder)
        for port in 3...UpstreamConnectionPool.slotsBeforePruning + 1 { _ = pool.slot(for: key(port: port)) }
        #expect(!lentUnder.isPooled)
        #expect(pooledUnder.isPooled, "a slot holding a connection is kept")
        #expect(pool.slot(for: key(port: 2)) === pooledUnder)
        #expect(pool.slot(for: key(port: 1)) !== lentUnder)

        let late = try connectedChannel()
        pool.checkin(late, relay: UpstreamResponseRelay(), slot: lentUnder)
        #expect(!late.isActive, "checked in under a slot the pool let go of: closed")
        #expect(pool.checkout(pool.slot(for: key(port: 2)))?.channel === pooled)

        // A client connection that remembered the slot gets the pool's slot for its key when it connects again.
        var memo = HTTPProxyHandler.Memo()
        let current = memo.pooled(lentUnder, pool: pool)
        #expect(current.isPooled && current !== lentUnder && current.key == lentUnder.key)
        #expect(memo.pooled(current, pool: pool) === current)
    }

    @Test func emptyPoolHasNothingToLend() {
        let pool = pool()
        #expect(pool.checkout(pool.slot(for: key())) == nil)
    }

    /// Keys made apart for the same route reach one slot (client connections keep it for their next requests).
    @Test func equalKeysShareOneSlot() {
        let pool = pool()
        #expect(pool.slot(for: key()) === pool.slot(for: key()))
        #expect(pool.slot(for: key()) !== pool.slot(for: key(port: 8443)))
        #expect(pool.slot(for: key()) !== pool.slot(for: key(generation: 2)))
    }

    @Test func checkedInConnectionIsLentOnceUnderTheSameKey() throws {
        let pool = pool()
        let channel = try connectedChannel()
        pool.checkin(channel, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        #expect(pool.checkout(pool.slot(for: key()))?.channel === channel)
        #expect(pool.checkout(pool.slot(for: key())) == nil)
        #expect(channel.isActive)
    }

    @Test func connectionIsNotLentUnderAnotherKey() throws {
        let pool = pool()
        let channel = try connectedChannel()
        pool.checkin(channel, relay: UpstreamResponseRelay(), slot: pool.slot(for: key(generation: 1)))
        // A reload (new generation), other TLS settings or another port never reuse it.
        #expect(pool.checkout(pool.slot(for: key(generation: 2))) == nil)
        #expect(pool.checkout(pool.slot(for: key(settings: SidecarTestPKI.settings(trusting: nil)))) == nil)
        #expect(pool.checkout(pool.slot(for: key(port: 8443))) == nil)
        #expect(pool.checkout(pool.slot(for: key(generation: 1)))?.channel === channel)
    }

    @Test func settingsThatDifferOnlyInTheCABundleAreDifferentKeys() throws {
        let pool = pool()
        let channel = try connectedChannel()
        let old = SidecarTestPKI.settings(trusting: [SidecarTestPKI.certificateAuthority(name: "Old")])
        let new = SidecarTestPKI.settings(trusting: [SidecarTestPKI.certificateAuthority(name: "New")])
        pool.checkin(channel, relay: UpstreamResponseRelay(), slot: pool.slot(for: key(settings: old)))
        #expect(pool.checkout(pool.slot(for: key(settings: new))) == nil)
        #expect(pool.checkout(pool.slot(for: key(settings: old)))?.channel === channel)
    }

    @Test func beyondTheBoundConnectionsAreClosedNotPooled() throws {
        let pool = pool(maximumPerKey: 2)
        let channels = try (0..<3).map { _ in try connectedChannel() }
        for channel in channels { pool.checkin(channel, relay: UpstreamResponseRelay(), slot: pool.slot(for: key())) }
        loop.run()
        #expect(channels[0].isActive)
        #expect(channels[1].isActive)
        #expect(!channels[2].isActive)
        let lent = [pool.checkout(pool.slot(for: key())), pool.checkout(pool.slot(for: key()))]
        #expect(lent.allSatisfy { $0 != nil })
        #expect(pool.checkout(pool.slot(for: key())) == nil)
    }

    @Test func lendsTheMostRecentlyReturnedFirst() throws {
        let pool = pool()
        let first = try connectedChannel()
        let second = try connectedChannel()
        pool.checkin(first, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        pool.checkin(second, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        #expect(pool.checkout(pool.slot(for: key()))?.channel === second)
        #expect(pool.checkout(pool.slot(for: key()))?.channel === first)
    }

    @Test func inactiveConnectionIsNotPooled() throws {
        let pool = pool()
        let channel = EmbeddedChannel(loop: loop)
        pool.checkin(channel, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        #expect(pool.checkout(pool.slot(for: key())) == nil)
    }

    @Test func idleConnectionIsClosedAfterTheIdleTimeout() throws {
        let pool = pool()
        let channel = try connectedChannel()
        pool.checkin(channel, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        loop.advanceTime(by: Self.idleTimeout - .seconds(1))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(pool.checkout(pool.slot(for: key())) == nil)
    }

    @Test func lentConnectionIsNotClosedByItsOldIdleTimer() throws {
        let pool = pool()
        let channel = try connectedChannel()
        pool.checkin(channel, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        #expect(pool.checkout(pool.slot(for: key()))?.channel === channel)
        loop.advanceTime(by: Self.idleTimeout * 2)
        #expect(channel.isActive)
    }

    /// After a reload, connections made under the old configuration are closed at the next sweep (within a
    /// second), not kept until they idle out; one returned after the reload is closed at once.
    @Test func connectionsOfAnOlderGenerationAreDrained() throws {
        let generation = Mutex(1)
        let pool = UpstreamConnectionPool(
            maximumPerKey: 4, idleTimeout: Self.idleTimeout, currentGeneration: { generation.withLock { $0 } })
        let pooled = try connectedChannel()
        let current = try connectedChannel()
        let lent = try connectedChannel()
        pool.checkin(pooled, relay: UpstreamResponseRelay(), slot: pool.slot(for: key(generation: 1)))
        generation.withLock { $0 = 2 }
        pool.checkin(current, relay: UpstreamResponseRelay(), slot: pool.slot(for: key(generation: 2)))
        pool.checkin(lent, relay: UpstreamResponseRelay(), slot: pool.slot(for: key(generation: 1)))
        loop.run()
        #expect(!lent.isActive)
        #expect(pooled.isActive)
        let oldSlot = pool.slot(for: key(generation: 1))
        loop.advanceTime(by: .seconds(1))
        #expect(!pooled.isActive)
        #expect(current.isActive)
        #expect(pool.checkout(pool.slot(for: key(generation: 2)))?.channel === current)
        // The sweep let the old generation's slot go.
        #expect(pool.slot(for: key(generation: 1)) !== oldSlot)
    }

    @Test func connectionClosedByTheBackendWhileIdleIsForgotten() throws {
        let pool = pool()
        let closing = try connectedChannel()
        let staying = try connectedChannel()
        pool.checkin(staying, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        pool.checkin(closing, relay: UpstreamResponseRelay(), slot: pool.slot(for: key()))
        try closing.close().wait()
        loop.run()
        // Gone from the list when it closed, not only skipped when lent.
        #expect(pool.slot(for: key()).idleCount == 1)
        #expect(pool.checkout(pool.slot(for: key()))?.channel === staying)
        #expect(pool.checkout(pool.slot(for: key())) == nil)
    }
}
