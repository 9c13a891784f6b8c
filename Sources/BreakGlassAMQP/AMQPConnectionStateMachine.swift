/// A publish as the state machine sees it: when it expires, and whether a `basic.return` is about it.
protocol AMQPStatePublish {
    var deadline: ContinuousClock.Instant { get }
    func matchesReturn(exchange: String, routingKey: String, body: [UInt8]) -> Bool
}

/// A consumer as the state machine sees it: its tag.
protocol AMQPStateConsumer {
    var tag: String { get }
}

/// The lifecycle of one recovering AMQP connection, without any I/O: which connection (generation) is live,
/// whether it is blocked, reconnect attempts and their backoff, the consumers and declarations to restore on
/// every new connection, the publishes that wait while offline or blocked, publisher confirms and coalesced acks.
///
/// The I/O thread (`AMQPConnectionCore`) feeds it commands and what the library reported, and performs what it
/// returns: frames to send, publishes to complete, consumers to finish. Every publish and consumer handed to it
/// is completed or finished exactly once, at the latest by `shutdown()`. A plain value type, tested alone;
/// `Publish` and `Consumer` carry the continuations.
struct AMQPConnectionStateMachine<Publish: AMQPStatePublish, Consumer: AMQPStateConsumer> {
    enum Lifecycle: Sendable, Equatable {
        /// A connection attempt is under way (`attempt` failed ones before it); `generation` is set once its
        /// channels are open and topology and consumers are being restored.
        case connecting(attempt: Int, generation: UInt64?)
        /// Live and set up; `blocked` after `connection.blocked` (publishes wait).
        case connected(generation: UInt64, blocked: Bool)
        /// Disconnected, waiting out the backoff before attempt `attempt + 1`.
        case waitingToReconnect(attempt: Int)
        /// The application asked to close. With a live connection (`generation`), publishes in flight are confirmed
        /// first; without one, `shutdown()` is next.
        case closing(generation: UInt64?, blocked: Bool)
        /// Final.
        case closed
    }

    // Stored state: changed only by the events (`+Events`); internal only so that file can reach it.

    var lifecycle: Lifecycle = .connecting(attempt: 0, generation: nil)
    /// The generation of the newest connection opened (1 for the first, +1 per reconnect).
    var generationCounter: UInt64 = 0
    /// Why the last attempt failed; nil once connected.
    var lastFailure: AMQPError?
    /// The configured topology, declared on every connection before `rememberedDeclarations`.
    let topology: [AMQPTopology.Declaration]
    /// Declarations made through the API (beyond `topology`), declared again on every connection.
    var rememberedDeclarations: [AMQPTopology.Declaration] = []
    var consumers: [String: Consumer] = [:]
    var consumerOrder: [String] = []
    /// Publishes not sent yet (offline, blocked, or behind others that wait), in order.
    var waitingPublishes: [Publish] = []
    /// Publishes sent on the live connection, waiting for their confirm.
    var confirms = ConfirmTracker<Publish>()
    var acks = AckCoalescer()
    var backoff: ReconnectBackoff

    init(topology: [AMQPTopology.Declaration], reconnect: ReconnectBackoff.Configuration) {
        self.topology = topology
        self.backoff = ReconnectBackoff(configuration: reconnect)
    }

    // MARK: Queries

    /// The generation deliveries of the live connection carry; 0 while there is none.
    var liveGeneration: UInt64 {
        switch lifecycle {
        case .connected(let generation, _), .closing(let generation?, _): generation
        default: 0
        }
    }

    /// Whether a connection attempt should be made now.
    var wantsConnection: Bool {
        if case .connecting = lifecycle { return true }
        return false
    }

    /// Whether the application asked to close (or the connection is closed).
    var isClosing: Bool {
        switch lifecycle {
        case .closing, .closed: true
        default: false
        }
    }

    /// The consumers to restore, in the order they were started.
    var registeredConsumers: [Consumer] { consumerOrder.compactMap { consumers[$0] } }
    var waitingPublishCount: Int { waitingPublishes.count }
    var unconfirmedCount: Int { confirms.count }

    /// Whether a closing connection has nothing left to finish: every confirm arrived, and nothing waits to be
    /// sent (or the broker blocks it, so it never will).
    var readyToCloseGracefully: Bool {
        guard case .closing(_?, let blocked) = lifecycle else { return false }
        return confirms.isEmpty && (waitingPublishes.isEmpty || blocked)
    }

    /// Whether operations that need the broker (declare, queue status, ...) can run now; else the error they get.
    var operationError: AMQPError? {
        switch lifecycle {
        case .connected, .closing(_?, _): nil
        case .connecting, .waitingToReconnect, .closing(nil, _): AMQPError.notConnected()
        case .closed: AMQPError.closed()
        }
    }

    var isBlocked: Bool {
        switch lifecycle {
        case .connected(_, let blocked), .closing(_?, let blocked): blocked
        default: false
        }
    }

    // MARK: Consumers and declarations

    /// Adds (or replaces) a consumer to restore on every connection.
    mutating func register(_ consumer: Consumer) {
        if consumers[consumer.tag] == nil { consumerOrder.append(consumer.tag) }
        consumers[consumer.tag] = consumer
    }

    /// Forgets a consumer; returns it (to be finished with `error`, or normally when nil).
    mutating func removeConsumer(tag: String, error: AMQPError?) -> ConsumerEnd? {
        guard let consumer = consumers.removeValue(forKey: tag) else { return nil }
        consumerOrder.removeAll { $0 == tag }
        return ConsumerEnd(consumer: consumer, error: error)
    }

    /// A declaration the broker accepted: declared again after every reconnect.
    mutating func declared(_ declaration: AMQPTopology.Declaration) {
        guard !rememberedDeclarations.contains(declaration), !topology.contains(declaration) else { return }
        rememberedDeclarations.append(declaration)
    }

    // MARK: Publishes

    /// Takes the publishes waiting to be sent, if they can be sent now (connected, not blocked).
    mutating func takeWaitingPublishes() -> [Publish] {
        guard liveGeneration != 0, !isBlocked, !waitingPublishes.isEmpty else { return [] }
        defer { waitingPublishes.removeAll(keepingCapacity: true) }
        return waitingPublishes
    }

    /// A publish was written: it waits for its confirm.
    mutating func publishSent(_ publish: Publish) {
        confirms.register(publish)
    }

    /// Publishes that could not be (completely) written (the broker cannot have taken them): sent first after the
    /// next connection, before those that waited already.
    mutating func publishesNotSent(_ publishes: some Collection<Publish>) {
        waitingPublishes.insert(contentsOf: publishes, at: 0)
    }

    /// Publishes past their deadline, waiting or unconfirmed, with their timeout error.
    mutating func expire(now: ContinuousClock.Instant) -> [PublishCompletion] {
        var expired: [PublishCompletion] = []
        if waitingPublishes.contains(where: { $0.deadline <= now }) {
            for publish in waitingPublishes where publish.deadline <= now {
                expired.append(
                    PublishCompletion(publish: publish, error: AMQPError.timeout("publish not sent in time")))
            }
            waitingPublishes.removeAll { $0.deadline <= now }
        }
        if !confirms.isEmpty {
            for publish in confirms.removeExpired({ $0.deadline <= now }) {
                expired.append(
                    PublishCompletion(publish: publish, error: AMQPError.timeout("publish not confirmed in time")))
            }
        }
        return expired
    }

    /// The ack frames to send for the acks collected since the last call (none while offline).
    mutating func takeAckFrames() -> [AckCoalescer.Frame] {
        guard liveGeneration != 0, acks.hasPending else { return [] }
        return acks.flush()
    }
}
