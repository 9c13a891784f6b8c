public import Logging
import Synchronization

/// A recovering AMQP 0-9-1 connection over rabbitmq-c, with an async API.
///
/// One dedicated thread owns the library connection (rabbitmq-c is not thread-safe) and never blocks Swift's
/// cooperative pool. It services heartbeats while the application is busy, reconnects with exponential
/// backoff and jitter after a loss, re-declares topology, restores qos and consumers and confirm mode.
///
/// ```swift
/// var configuration = try AMQPConnection.Configuration(url: "amqp://guest:guest@127.0.0.1:5672/")
/// configuration.topology = AMQPTopology().declarations
/// let connection = try AMQPConnection(configuration: configuration, logger: logger)
/// connection.start()
/// try await connection.waitUntilReady(timeout: .seconds(30))
/// let consumer = try await connection.consume(queue: "breakglass.restorations", prefetch: 200)
/// for try await delivery in consumer { ...; try delivery.ack() }
/// ```
public final class AMQPConnection: Sendable {
    let core: AMQPConnectionCore
    private let started = Atomic<Bool>(false)
    private let consumerCounter = Atomic<Int>(0)

    /// Validates `configuration` (throws `AMQPError.Code.invalidConfiguration`); does not connect yet.
    public init(configuration: Configuration, logger: Logger = Logger(label: "breakglass.amqp")) throws {
        try configuration.validate()
        core = AMQPConnectionCore(configuration: configuration, logger: logger)
    }

    deinit {
        if started.load(ordering: .acquiring) { core.requestClose() }
    }

    public var configuration: Configuration { core.configuration }

    /// Starts the connection thread (idempotent). The first connection attempt begins at once.
    public func start() {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        core.start()
    }

    /// The current state (`ready`, `blocked`, `reconnecting`, ...), e.g. for a readiness probe.
    public var state: AMQPConnectionState { core.state }

    /// The current state, then every change, until the connection is closed.
    public func stateUpdates() -> AsyncStream<AMQPConnectionState> { core.stateUpdates() }

    /// Waits until the state is `ready` (or `blocked`: connected, but publishes wait). Throws `timeout` after
    /// `timeout`, `closed` if the connection is closed meanwhile.
    public func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        start()
        let updates = stateUpdates()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await state in updates {
                    switch state {
                    case .ready, .blocked: return
                    case .closed: throw AMQPError.closed()
                    default: continue
                    }
                }
                throw AMQPError.closed()
            }
            let core = self.core
            group.addTask {
                try await Task.sleep(for: timeout)
                // The cause of the last failed attempt (refused login, missing vhost, closed port, not AMQP...), so
                // a caller never sees a bare timeout where the broker said why.
                if let failure = core.lastFailure { throw failure }
                throw AMQPError.timeout(
                    "connection to \(core.configuration.url.host):\(core.configuration.url.port) not ready within \(timeout)"
                )
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Publishes `message` and returns once the broker confirmed it (publisher confirms).
    ///
    /// Throws `publishReturned` for an unroutable mandatory message, `publishNacked` for a broker nack,
    /// `connectionLost` if the connection dropped before the confirm (the message may or may not have been
    /// taken: publish again, consumers are idempotent), `timeout` after `Configuration.publishTimeout`.
    /// While disconnected or blocked, the publish waits (up to the timeout). Many publishes may be in flight.
    public func publish(
        _ message: AMQPMessage, exchange: String, routingKey: String, mandatory: Bool = true
    ) async throws {
        start()
        let deadline = ContinuousClock.now.advanced(by: core.configuration.publishTimeout)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            core.enqueue(
                .publish(
                    .init(
                        exchange: exchange, routingKey: routingKey, message: message,
                        mandatory: mandatory, deadline: deadline, continuation: continuation)))
        }
    }

    /// Starts a consumer on `queue` with `basic.qos` prefetch `prefetch`; it is restored after reconnects.
    /// Throws `brokerClosed` (reply code 404) when the queue does not exist.
    public func consume(queue: String, prefetch: UInt16 = 200, tag: String? = nil) async throws -> AMQPConsumer {
        start()
        let number = consumerCounter.wrappingAdd(1, ordering: .relaxed).newValue
        let consumerTag = tag ?? "breakglass-\(number)-\(UInt32.random(in: 0...UInt32.max))"
        let (stream, continuation) = AsyncThrowingStream<AMQPDelivery, any Error>.makeStream(
            bufferingPolicy: .unbounded)
        let core = self.core
        continuation.onTermination = { _ in core.enqueue(.cancel(tag: consumerTag)) }
        let entry = AMQPConnectionCore.ConsumerEntry(
            tag: consumerTag, queue: queue, prefetch: prefetch,
            continuation: continuation)
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            core.enqueue(.consume(entry, done))
        }
        return AMQPConsumer(tag: consumerTag, queue: queue, stream: stream) { core.enqueue(.cancel(tag: consumerTag)) }
    }

    /// Declares `declarations` idempotently (and again after every reconnect). A conflicting declaration
    /// throws `brokerClosed` (406) without disturbing consumers or publishes.
    public func declare(_ declarations: [AMQPTopology.Declaration]) async throws {
        start()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            core.enqueue(.declare(declarations, continuation))
        }
    }

    /// Declares the contract topology.
    public func declare(_ topology: AMQPTopology) async throws {
        try await declare(topology.declarations)
    }

    /// Message and consumer count of an existing queue (passive declare); 404 as `brokerClosed` when absent.
    public func queueStatus(_ queue: String) async throws -> AMQPQueueStatus {
        start()
        return try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<AMQPQueueStatus, any Error>) in
            core.enqueue(.queueStatus(queue, continuation))
        }
    }

    /// Deletes a queue (tests, tools).
    public func deleteQueue(_ queue: String) async throws {
        start()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            core.enqueue(.deleteQueue(queue, continuation))
        }
    }

    /// Purges a queue; returns the number of messages removed.
    @discardableResult
    public func purgeQueue(_ queue: String) async throws -> UInt32 {
        start()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UInt32, any Error>) in
            core.enqueue(.purgeQueue(queue, continuation))
        }
    }

    /// Closes the connection: waits for in-flight publishes to be confirmed (bounded by the publish timeout),
    /// ends consumers, and returns when the thread has finished. Unsettled deliveries go back to their queues.
    public func close() async {
        guard started.load(ordering: .acquiring) else { return }
        core.requestClose()
        await core.waitClosed()
    }

    /// Runs until the surrounding task is cancelled, then closes (the shape of a service-lifecycle `Service`).
    public func run() async {
        start()
        await withTaskCancellationHandler {
            await core.waitClosed()
        } onCancel: {
            core.requestClose()
        }
    }
}
