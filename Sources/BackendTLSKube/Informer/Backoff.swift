/// Exponential back-off with jitter, so many replicas that lost the API server do not come back in step.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait before retry number `attempt` (0-based): initial·2ⁿ capped at maximum, times 0.5–1.0.
    public func delay(attempt: Int, random: Double = Double.random(in: 0.5...1.0)) -> Duration {
        let exponent = Double(1 << min(attempt, 20))
        let capped = min(initial * exponent, maximum)
        return capped * random
    }
}
