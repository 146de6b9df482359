import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Chains one verifier has accepted, with the time window in which that verdict holds.
///
/// Verification depends only on the presented chain, the verifier's fixed settings and the time, so a chain
/// accepted once is accepted again while `now` lies within every certificate's validity on its path (and the
/// other certificates presented). Backends present the same chain on every connection; this spares the
/// parse, path building, signature checks and the task hop per handshake. Refusals are never kept, so every
/// failure is verified afresh and explained.
final class VerifiedChainCache: Sendable {
    static let capacity = 64

    private let windows = Mutex<[[[UInt8]]: ClosedRange<Date>]>([:])

    func accepts(_ ders: [[UInt8]], at now: Date) -> Bool {
        windows.withLock { $0[ders]?.contains(now) ?? false }
    }

    func remember(_ ders: [[UInt8]], validDuring window: ClosedRange<Date>) {
        windows.withLock { windows in
            if windows.count >= Self.capacity, windows[ders] == nil { windows.removeAll(keepingCapacity: true) }
            windows[ders] = window
        }
    }
}
