import CRabbitMQ
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// The engine behind `AMQPConnection`: one dedicated `Thread` owns the rabbitmq-c connection (the library is
/// not thread-safe) and is the only code that touches it. Other threads talk to it through a locked command
/// inbox plus an eventfd that wakes the thread out of `poll(2)`.
///
/// The thread's loop lives in `+IOThread`, what it does for each command and frame in `+Handling`; the decisions
/// are `AMQPConnectionStateMachine`'s, the library calls `RabbitMQConnection`'s.
final class AMQPConnectionCore: AMQPSettling, @unchecked Sendable {
    // MARK: Shared between threads (all synchronised)

    let configuration: AMQPConnection.Configuration
    let logger: Logger
    let inbox = Mutex<Inbox>(Inbox())
    let wakeFD: Int32
    /// The generation of the live connection, 0 while there is none. Deliveries carry the generation they
    /// arrived on; settling compares it with this value (and again on the I/O thread before sending).
    let liveGeneration = Atomic<UInt64>(0)
    let observed = Mutex<Observed>(Observed())

    /// How many queued settlements wake a streaming I/O thread at once.
    static let settlementsPerWake = 16

    struct Inbox {
        var commands: [Command] = []
        /// The eventfd was written since the I/O thread last took the commands.
        var signaled = false
        /// The I/O thread is (about to be) in a long poll: every command must wake it.
        var longSleep = true
        var accepting = true
    }

    struct Observed {
        var state: AMQPConnectionState = .connecting
        /// Why the last connection attempt failed (nil once connected): what `waitUntilReady` reports on timeout.
        var lastFailure: AMQPError?
        var watchers: [Int: AsyncStream<AMQPConnectionState>.Continuation] = [:]
        var nextWatcher = 0
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var finished = false
    }

    enum Command: Sendable {
        case publish(PendingPublish)
        case settle(tag: UInt64, generation: UInt64, kind: AMQPSettlement)
        case consume(ConsumerEntry, CheckedContinuation<Void, any Error>)
        case cancel(tag: String)
        case declare([AMQPTopology.Declaration], CheckedContinuation<Void, any Error>)
        case queueStatus(String, CheckedContinuation<AMQPQueueStatus, any Error>)
        case deleteQueue(String, CheckedContinuation<Void, any Error>)
        case purgeQueue(String, CheckedContinuation<UInt32, any Error>)
        case close
    }

    struct PendingPublish: Sendable {
        var exchange: String
        var routingKey: String
        var message: AMQPMessage
        var mandatory: Bool
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    struct ConsumerEntry: Sendable {
        var tag: String
        var queue: String
        var prefetch: UInt16
        var continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation
    }

    // MARK: Owned by the I/O thread only

    typealias Machine = AMQPConnectionStateMachine<PendingPublish, ConsumerEntry>

    /// The lifecycle, consumers, waiting publishes, confirms and acks: decisions without I/O.
    var machine: Machine
    /// The library connection while there is one.
    var connection: RabbitMQConnection?
    /// Which of `configuration.endpoints` the next connect tries first (I/O thread only).
    var endpointIndex = 0
    /// The node of the live connection (I/O thread only; for logs).
    var connectedURL: AMQPURL?
    var assembler = FrameAssembler()
    /// Deliveries read in the current pass, handed to their consumers together at the end of the pass (one
    /// consumer wake-up per batch instead of one per message).
    var readyDeliveries: [(AsyncThrowingStream<AMQPDelivery, any Error>.Continuation, AMQPDelivery)] = []
    private var thread: Thread?

    init(configuration: AMQPConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.wakeFD = bg_eventfd_nonblocking()
        self.machine = Machine(topology: configuration.topology, reconnect: configuration.reconnect)
    }

    deinit {
        if wakeFD >= 0 { Glibc.close(wakeFD) }
    }

    // MARK: API used by other threads

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "breakglass.amqp"
        // rabbitmq-c decodes field tables recursively, on this thread, before anything of ours can look at them: a
        // header nested as deep as frame_max allows (about frame_max / 6 levels) must fit on the stack. Measured
        // use is well under 200 bytes a level; 512 a level plus 4 MiB leaves room. Only touched pages are committed.
        thread.stackSize = Self.stackSize(frameMax: Int(configuration.frameMax))
        self.thread = thread
        thread.start()
    }

    /// The AMQP thread's stack for a connection that accepts frames up to `frameMax` bytes.
    static func stackSize(frameMax: Int) -> Int {
        let deepestNesting = max(frameMax, 131_072) / 6 + 1
        let bytes = deepestNesting * 512 + (4 << 20)
        return (bytes + 0xFFFF) & ~0xFFFF
    }

    var state: AMQPConnectionState { observed.withLock { $0.state } }
    var lastFailure: AMQPError? { observed.withLock { $0.lastFailure } }

    func stateUpdates() -> AsyncStream<AMQPConnectionState> {
        let (stream, continuation) = AsyncStream<AMQPConnectionState>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id: Int? = observed.withLock { observed in
            continuation.yield(observed.state)
            if observed.finished { return nil }
            let id = observed.nextWatcher
            observed.nextWatcher += 1
            observed.watchers[id] = continuation
            return id
        }
        if let id {
            continuation.onTermination = { [weak self] _ in
                _ = self?.observed.withLock { $0.watchers.removeValue(forKey: id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }

    /// Adds a command for the I/O thread; false when the connection is closed (the caller fails it).
    ///
    /// Settlements (acks) do not wake the thread while it is streaming: it then polls with a 1 ms timeout and
    /// picks them up in batches (which the ack coalescer turns into few frames). Everything else, and any
    /// command while the thread is idle in a long poll, wakes it at once through the eventfd.
    @discardableResult
    func enqueue(_ command: Command) -> Bool {
        let urgent: Bool
        if case .settle = command { urgent = false } else { urgent = true }
        let signal: Bool? = inbox.withLock { inbox in
            guard inbox.accepting else { return nil }
            inbox.commands.append(command)
            if inbox.signaled { return false }
            // While streaming, settlements wait for the thread's next short poll, unless 16 have gathered: the broker
            // sends no more than the prefetch before it hears of them, so waiting for a full prefetch of 64 stalled
            // the consumer once per window (issue 21, the duplicate path).
            guard urgent || inbox.longSleep || inbox.commands.count >= Self.settlementsPerWake else { return false }
            inbox.signaled = true
            return true
        }
        guard let signal else {
            Self.fail(command, with: .closed())
            return false
        }
        if signal {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
        return true
    }

    func settle(tag: UInt64, generation: UInt64, kind: AMQPSettlement) throws {
        guard generation != 0, generation == liveGeneration.load(ordering: .acquiring) else {
            throw AMQPError.staleDelivery()
        }
        guard enqueue(.settle(tag: tag, generation: generation, kind: kind)) else { throw AMQPError.closed() }
    }

    func requestClose() { enqueue(.close) }

    func waitClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = observed.withLock { observed -> Bool in
                if observed.finished { return true }
                observed.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Fails a command that never reached the state machine (the connection is closed).
    static func fail(_ command: Command, with error: AMQPError) {
        switch command {
        case .publish(let pending): pending.continuation.resume(throwing: error)
        case .consume(let entry, let continuation):
            entry.continuation.finish(throwing: error)
            continuation.resume(throwing: error)
        case .declare(_, let continuation): continuation.resume(throwing: error)
        case .queueStatus(_, let continuation): continuation.resume(throwing: error)
        case .deleteQueue(_, let continuation): continuation.resume(throwing: error)
        case .purgeQueue(_, let continuation): continuation.resume(throwing: error)
        case .settle, .cancel, .close: break
        }
    }

    func publishState(_ state: AMQPConnectionState) {
        observed.withLock { observed in
            guard observed.state != state, !observed.finished else { return }
            observed.state = state
            for watcher in observed.watchers.values { watcher.yield(state) }
        }
    }
}

extension AMQPConnectionCore.PendingPublish: AMQPStatePublish {
    func matchesReturn(exchange: String, routingKey: String, body: [UInt8]) -> Bool {
        self.exchange == exchange && self.routingKey == routingKey && message.body == body
    }
}

extension AMQPConnectionCore.ConsumerEntry: AMQPStateConsumer {}
