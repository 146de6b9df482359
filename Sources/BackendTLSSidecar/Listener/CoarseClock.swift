import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The time as of the kernel's last tick (a few milliseconds at most behind), for what is stamped on every request
/// and measured in seconds: the client's last activity and the minute a route was resolved in. Reading the precise
/// clocks took several of these a request, each costing more than a coarse read.
enum CoarseClock {
    /// Comparable with `NIODeadline.now()` (the same monotonic clock, read as of the last tick on Linux).
    static func now() -> NIODeadline {
        #if os(Linux)
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
            return .uptimeNanoseconds(UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
        #else
            return .now()
        #endif
    }

    /// Whole minutes since 1970 (the resolution cache's unit of validity).
    static func minutesSince1970() -> Int {
        Int(time(nil)) / 60
    }
}
