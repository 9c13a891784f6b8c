extension AMQPConnectionStateMachine {
    // MARK: What the driver performs

    /// A publish to complete: confirmed when `error` is nil.
    struct PublishCompletion {
        var publish: Publish
        var error: AMQPError?
    }

    /// A consumer to finish: normally when `error` is nil.
    struct ConsumerEnd {
        var consumer: Consumer
        var error: AMQPError?
    }

    /// What to restore on a connection whose channels just opened.
    struct Setup {
        var generation: UInt64
        /// The topology, then the remembered declarations.
        var declarations: [AMQPTopology.Declaration]
        /// The consumers to start again (after checking that their queue still exists).
        var consumers: [Consumer]
    }

    /// What follows a failed attempt or a lost connection.
    struct Failure {
        /// Publishes sent but not confirmed: the broker may or may not have them.
        var publishes: [PublishCompletion]
        var next: Next

        enum Next {
            /// Wait `delay`, then try again; the state to show meanwhile.
            case reconnect(attempt: Int, delay: Duration, state: AMQPConnectionState)
            /// The application asked to close: `shutdown()`.
            case shutDown
        }
    }

    enum PublishAction {
        /// Write it now (then `publishSent` or `publishesNotSent`).
        case send(Publish)
        /// It waits (offline, blocked, or behind others).
        case wait
        case fail(PublishCompletion)
    }

    enum ConsumeAction: Equatable {
        /// Check the queue, `register`, and start the consumer on the broker.
        case startOnBroker
        /// Registered; it starts with the next connection.
        case registered
        case fail(AMQPError)
    }

    /// A settlement that goes out as a frame of its own (acks are coalesced: `takeAckFrames`).
    enum SettleAction: Equatable {
        case nack(tag: UInt64, requeue: Bool)
        case reject(tag: UInt64, requeue: Bool)
    }

    struct Cancel {
        var end: ConsumerEnd
        /// Whether to send `basic.cancel` (there is a live connection).
        var sendToBroker: Bool
    }

    enum DeliveryAction {
        /// Hand it to this consumer, as a delivery of `generation`.
        case deliver(to: Consumer, generation: UInt64)
        /// No such consumer (a delivery racing a cancel): give it back to the queue at once.
        case reject(tag: UInt64)
        /// Already settled: nothing to do.
        case drop
    }

    struct Shutdown {
        var publishes: [PublishCompletion]
        var consumers: [ConsumerEnd]
    }

    // MARK: Connection lifecycle

    /// The channels of a new connection are open (confirm mode on): a new generation.
    mutating func connectionOpened() -> Setup {
        generationCounter += 1
        if case .connecting(let attempt, _) = lifecycle {
            lifecycle = .connecting(attempt: attempt, generation: generationCounter)
        }
        acks.reset()
        return Setup(
            generation: generationCounter, declarations: topology + rememberedDeclarations,
            consumers: registeredConsumers)
    }

    /// Topology and consumers are restored: the connection is live. Returns the state to show (nil: unchanged).
    mutating func connectionReady() -> AMQPConnectionState? {
        guard case .connecting(_, let generation?) = lifecycle else { return nil }
        lifecycle = .connected(generation: generation, blocked: false)
        backoff.reset()
        lastFailure = nil
        return .ready
    }

    /// The attempt failed or the live connection was lost with `error`.
    mutating func connectionFailed(
        _ error: AMQPError,
        random: () -> Double = { Double.random(in: 0..<1) }
    ) -> Failure {
        acks.reset()
        let lost = confirms.removeAll().map {
            PublishCompletion(
                publish: $0, error: AMQPError(code: .connectionLost, reason: "connection lost before the confirm"))
        }
        let failed: Int
        switch lifecycle {
        case .closing, .closed:
            if case .closing = lifecycle { lifecycle = .closing(generation: nil, blocked: false) }
            return Failure(publishes: lost, next: .shutDown)
        case .connecting(let attempt, _), .waitingToReconnect(let attempt):
            failed = attempt
        case .connected:
            failed = 0
        }
        let attempt = failed + 1
        lifecycle = .waitingToReconnect(attempt: attempt)
        lastFailure = error
        let delay = backoff.nextDelay(random: random)
        return Failure(
            publishes: lost,
            next: .reconnect(
                attempt: attempt, delay: delay, state: .reconnecting(attempt: attempt, lastError: error.code)))
    }

    /// The backoff is over: the next attempt begins (unless the application asked to close meanwhile).
    mutating func reconnectDelayElapsed() {
        if case .waitingToReconnect(let attempt) = lifecycle {
            lifecycle = .connecting(attempt: attempt, generation: nil)
        }
    }

    /// The application asks to close.
    mutating func close() {
        switch lifecycle {
        case .connected(let generation, let blocked):
            lifecycle = .closing(generation: generation, blocked: blocked)
        case .connecting(_, let generation):
            lifecycle = .closing(generation: generation, blocked: false)
        case .waitingToReconnect:
            lifecycle = .closing(generation: nil, blocked: false)
        case .closing, .closed:
            break
        }
    }

    /// A closing connection was closed cleanly (`connection.close` sent): `shutdown()` is next.
    mutating func closedGracefully() {
        if case .closing = lifecycle { lifecycle = .closing(generation: nil, blocked: false) }
    }

    /// Ends everything: every publish still waiting or unconfirmed fails with `closed`, every consumer finishes.
    /// Final; a second call returns nothing.
    mutating func shutdown() -> Shutdown {
        lifecycle = .closed
        acks.reset()
        var publishes = waitingPublishes.map { PublishCompletion(publish: $0, error: AMQPError.closed()) }
        waitingPublishes.removeAll()
        publishes += confirms.removeAll().map { PublishCompletion(publish: $0, error: AMQPError.closed()) }
        let ends = registeredConsumers.map { ConsumerEnd(consumer: $0, error: nil) }
        consumers.removeAll()
        consumerOrder.removeAll()
        return Shutdown(publishes: publishes, consumers: ends)
    }

    // MARK: Commands

    mutating func publish(_ publish: Publish) -> PublishAction {
        switch lifecycle {
        case .closed:
            return .fail(PublishCompletion(publish: publish, error: AMQPError.closed()))
        case .connected(_, false) where waitingPublishes.isEmpty, .closing(_?, false) where waitingPublishes.isEmpty:
            return .send(publish)
        default:
            waitingPublishes.append(publish)
            return .wait
        }
    }

    /// A delivery of `generation` is settled; stale generations are ignored (the broker requeued them).
    mutating func settle(tag: UInt64, generation: UInt64, kind: AMQPSettlement) -> SettleAction? {
        guard generation != 0, generation == liveGeneration else { return nil }
        switch kind {
        case .ack:
            acks.ack(tag)
            return nil
        case .nack(let requeue):
            return acks.settledIndividually(tag) ? .nack(tag: tag, requeue: requeue) : nil
        case .reject(let requeue):
            return acks.settledIndividually(tag) ? .reject(tag: tag, requeue: requeue) : nil
        }
    }

    mutating func consume(_ consumer: Consumer) -> ConsumeAction {
        switch lifecycle {
        case .closed:
            return .fail(AMQPError.closed())
        case .connected, .closing(_?, _):
            return .startOnBroker
        case .connecting, .waitingToReconnect, .closing(nil, _):
            register(consumer)
            return .registered
        }
    }

    mutating func cancel(tag: String) -> Cancel? {
        guard let end = removeConsumer(tag: tag, error: nil) else { return nil }
        return Cancel(end: end, sendToBroker: liveGeneration != 0)
    }

    // MARK: What the broker sent

    mutating func brokerCancelled(tag: String) -> ConsumerEnd? {
        removeConsumer(tag: tag, error: AMQPError.consumerCancelled())
    }

    /// `connection.blocked`: publishes wait. Returns the state to show.
    mutating func brokerBlocked() -> AMQPConnectionState? {
        setBlocked(true) ? .blocked : nil
    }

    /// `connection.unblocked`. Returns the state to show.
    mutating func brokerUnblocked() -> AMQPConnectionState? {
        setBlocked(false) ? .ready : nil
    }

    private mutating func setBlocked(_ blocked: Bool) -> Bool {
        switch lifecycle {
        case .connected(let generation, _): lifecycle = .connected(generation: generation, blocked: blocked)
        case .closing(let generation?, _): lifecycle = .closing(generation: generation, blocked: blocked)
        default: return false
        }
        return true
    }

    /// A complete delivery for `consumerTag`.
    mutating func delivery(consumerTag: String, deliveryTag: UInt64) -> DeliveryAction {
        if let consumer = consumers[consumerTag] { return .deliver(to: consumer, generation: liveGeneration) }
        guard liveGeneration != 0, acks.settledIndividually(deliveryTag) else { return .drop }
        return .reject(tag: deliveryTag)
    }

    /// A complete `basic.return`: the matching unconfirmed publish fails when its confirm arrives.
    mutating func returned(replyCode: UInt16, replyText: String, exchange: String, routingKey: String, body: [UInt8]) {
        confirms.markReturned(replyCode: replyCode, replyText: replyText) {
            $0.matchesReturn(exchange: exchange, routingKey: routingKey, body: body)
        }
    }

    /// `basic.ack` (nack: false) or `basic.nack` from the broker: the publishes it settles.
    mutating func confirm(tag: UInt64, multiple: Bool, nack: Bool) -> [PublishCompletion] {
        confirms.settle(tag: tag, multiple: multiple, nack: nack).map { publish, outcome in
            switch outcome {
            case .confirmed: PublishCompletion(publish: publish, error: nil)
            case .nacked: PublishCompletion(publish: publish, error: AMQPError.publishNacked())
            case .returned(let replyCode, let replyText):
                PublishCompletion(
                    publish: publish, error: AMQPError.publishReturned(replyCode: replyCode, reason: replyText))
            }
        }
    }
}
