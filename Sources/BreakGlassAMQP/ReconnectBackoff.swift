/// Exponential backoff with jitter for reconnect attempts; a plain value type, tested alone.
///
/// Delay of attempt n (0-based) = min(maximum, initial * multiplier^n), then scaled by a random factor in
/// [1 - jitter, 1 + jitter] (capped at `maximum`). `reset()` after a successful connection.
public struct ReconnectBackoff: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// First delay. Default 200 ms.
        public var initialDelay: Duration = .milliseconds(200)
        /// Upper bound of any delay. Default 15 s.
        public var maximumDelay: Duration = .seconds(15)
        /// Growth factor per failed attempt. Default 2.
        public var multiplier: Double = 2
        /// Relative jitter, 0...1. Default 0.2 (±20 %).
        public var jitter: Double = 0.2

        public init() {}

        public func validate() throws {
            guard initialDelay > .zero, maximumDelay >= initialDelay else {
                throw AMQPError.invalidConfiguration("reconnect delays must be positive and initial <= maximum")
            }
            guard multiplier >= 1, (0...1).contains(jitter) else {
                throw AMQPError.invalidConfiguration("reconnect multiplier must be >= 1 and jitter within 0...1")
            }
        }
    }

    public let configuration: Configuration
    public private(set) var attempt: Int = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The delay before the next attempt; `random` yields a value in 0..<1 (injectable for tests).
    public mutating func nextDelay(random: () -> Double = { Double.random(in: 0..<1) }) -> Duration {
        let initial = Self.seconds(configuration.initialDelay)
        let maximum = Self.seconds(configuration.maximumDelay)
        let exponent = Double(min(attempt, 62))
        let base = min(maximum, initial * pow2(configuration.multiplier, exponent))
        attempt += 1
        let factor = 1 + configuration.jitter * (2 * random() - 1)
        let delay = min(maximum, max(0, base * factor))
        return .nanoseconds(Int64(delay * 1e9))
    }

    public mutating func reset() { attempt = 0 }

    static func seconds(_ duration: Duration) -> Double {
        let components = duration.components
        return Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }

    private func pow2(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var remaining = Int(exponent)
        while remaining > 0 {
            result *= base
            if result > 1e12 { return result }
            remaining -= 1
        }
        return result
    }
}
