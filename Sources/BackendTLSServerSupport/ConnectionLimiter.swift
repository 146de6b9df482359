public import NIOCore
import Synchronization

/// Bounds the number of open connections: a connection past the limit is closed as soon as it is accepted.
public final class ConnectionLimiter: Sendable {
    public let maximum: Int
    private let open = Atomic<Int>(0)

    public init(maximum: Int) {
        self.maximum = maximum
    }

    /// Counts `channel` in, or returns `false` (and the caller closes it) when the limit is reached.
    public func admit(_ channel: any Channel) -> Bool {
        let count = open.add(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { [self] _ in _ = open.subtract(1, ordering: .relaxed) }
        return count <= maximum
    }

    public var openConnections: Int { open.load(ordering: .relaxed) }
}
