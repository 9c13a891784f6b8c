import Synchronization

/// An `EventPublisher` for unit tests: records what it was given, and can be told to fail (a broker outage).
public final class InMemoryEventPublisher: EventPublisher {
    /// The error thrown while the publisher is "down".
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var description: String { "event publisher unavailable" }
    }

    private struct State {
        var published: [OutboxMessage] = []
        var failing = false
        var failingKeys: Set<RestorationKey> = []
        var failedAttempts = 0
    }

    private let state = Mutex(State())

    public init(failing: Bool = false) {
        state.withLock { $0.failing = failing }
    }

    /// Makes every later `publish` throw (`true`) or succeed (`false`).
    public func setFailing(_ failing: Bool) {
        state.withLock { $0.failing = failing }
    }

    /// Makes later `publish` calls for these keys throw (one consumer's partition down, a poisoned key), while
    /// other keys go through. An empty set heals them.
    public func setFailing(keys: Set<RestorationKey>) {
        state.withLock { $0.failingKeys = keys }
    }

    /// Every message accepted so far, in order (republications included).
    public var published: [OutboxMessage] { state.withLock { $0.published } }

    /// How many publishes were refused while failing.
    public var failedAttempts: Int { state.withLock { $0.failedAttempts } }

    public func publish(_ message: OutboxMessage) async throws {
        try state.withLock { state in
            if state.failing || state.failingKeys.contains(message.key) {
                state.failedAttempts += 1
                throw Unavailable()
            }
            state.published.append(message)
        }
    }
}
