import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The time as of the kernel's last tick (a few milliseconds at most behind), for what is stamped on every request
/// and measured in seconds: the client's last activity and the minute a route was resolved in. Reading the precise
/// clocks took several of these a request, each costing more than a coarse read.
enum CoarseClock {
    /// Comparable with `NIODeadline.now()` (the same monotonic clock, read as of the last tick).
    static func now() -> NIODeadline {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return .uptimeNanoseconds(UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    /// Whole minutes since 1970 (the resolution cache's unit of validity).
    static func minutesSince1970() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &time)
        return time.tv_sec / 60
    }
}
