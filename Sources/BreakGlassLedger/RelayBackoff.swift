/// Exponential back-off between relay rounds after a failed publish: no hot loop while the broker is down.
struct RelayBackoff: Sendable, Hashable {
    let initial: Duration
    let maximum: Duration
    private(set) var failures = 0

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The delay before the next attempt after one more failure: initial × 2^(failures-1), capped, with up to
    /// 20 % random jitter below so several relays do not retry in lock-step.
    mutating func nextDelay<G: RandomNumberGenerator>(using generator: inout G) -> Duration {
        failures += 1
        var delay = initial
        for _ in 1..<min(failures, 32) {
            delay = delay * 2
            if delay >= maximum {
                delay = maximum
                break
            }
        }
        let jitter = Double.random(in: 0.8...1.0, using: &generator)
        return delay * jitter
    }

    mutating func nextDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    mutating func reset() { failures = 0 }
}
