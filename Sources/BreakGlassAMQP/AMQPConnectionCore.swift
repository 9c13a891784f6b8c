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
/// Channel 1 carries consumers (qos + basic.consume), channel 2 publishes in confirm mode, channel 3 runs
/// declarations and queue operations so that a refused declaration (channel error) never disturbs the others.
final class AMQPConnectionCore: AMQPSettling, @unchecked Sendable {
    // MARK: Shared between threads (all synchronised)

    let configuration: AMQPConnection.Configuration
    let logger: Logger
    private let inbox = Mutex<Inbox>(Inbox())
    private let wakeFD: Int32
    /// The generation of the live connection, 0 while there is none. Deliveries carry the generation they
    /// arrived on; settling compares it with this value (and again on the I/O thread before sending).
    private let liveGeneration = Atomic<UInt64>(0)
    private let observed = Mutex<Observed>(Observed())

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

    /// Content (header + body frames) being assembled after a basic.deliver / basic.return.
    private struct Incoming {
        enum Kind {
            case delivery(consumerTag: String, tag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
            case returned(replyCode: UInt16, replyText: String, exchange: String, routingKey: String)
        }
        var kind: Kind
        var bodySize: Int = -1
        var properties = AMQPProperties()
        var body: [UInt8] = []
    }

    // MARK: Owned by the I/O thread only

    private var connection: amqp_connection_state_t?
    private var generation: UInt64 = 0
    private var generationCounter: UInt64 = 0
    private var consumers: [String: ConsumerEntry] = [:]
    private var consumerOrder: [String] = []
    private var rememberedDeclarations: [AMQPTopology.Declaration] = []
    private var waitingPublishes: [PendingPublish] = []
    private var confirms = ConfirmTracker<PendingPublish>()
    private var acks = AckCoalescer()
    private var incoming: [Incoming?] = [nil, nil, nil, nil]
    /// Deliveries read in the current pass, handed to their consumers together at the end of the pass (one
    /// consumer wake-up per batch instead of one per message).
    private var readyDeliveries: [(AsyncThrowingStream<AMQPDelivery, any Error>.Continuation, AMQPDelivery)] = []
    private var blocked = false
    private var closing = false
    private var thread: Thread?

    static let consumerChannel: amqp_channel_t = 1
    static let publishChannel: amqp_channel_t = 2
    static let operationChannel: amqp_channel_t = 3

    init(configuration: AMQPConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.wakeFD = bg_eventfd_nonblocking()
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
            guard urgent || inbox.longSleep || inbox.commands.count >= 64 else { return false }
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

    // MARK: The I/O thread

    private func run() {
        var backoff = ReconnectBackoff(configuration: configuration.reconnect)
        var attempt = 0
        var local: [Command] = []
        while !closing {
            do {
                try connect()
                attempt = 0
                backoff.reset()
                observed.withLock { $0.lastFailure = nil }
                publishState(blocked ? .blocked : .ready)
                logger.info("AMQP connection ready", metadata: [
                    "breakglass.amqp.url": "\(configuration.url.redacted)",
                    "breakglass.amqp.generation": .stringConvertible(generation),
                ])
                try serve(&local)
            } catch {
                let failure = error as? AMQPError ?? AMQPError.protocolError("unexpected error")
                teardown(after: failure)
                if closing { break }
                attempt += 1
                observed.withLock { $0.lastFailure = failure }
                publishState(.reconnecting(attempt: attempt, lastError: failure.code))
                let delay = backoff.nextDelay()
                var metadata: Logger.Metadata = [
                    "breakglass.amqp.url": "\(configuration.url.redacted)",
                    "breakglass.amqp.error": "\(failure.code)",
                    "breakglass.amqp.attempt": .stringConvertible(attempt),
                    "breakglass.amqp.delay_ms": .stringConvertible(Int(ReconnectBackoff.seconds(delay) * 1000)),
                ]
                if let reason = failure.reason { metadata["breakglass.amqp.reason"] = .string(reason) }
                if let replyCode = failure.replyCode { metadata["breakglass.amqp.reply_code"] = .stringConvertible(replyCode) }
                // A lost connection is expected now and then (the first retry usually succeeds); a refused or failing
                // one needs a person (credentials, vhost, port, broker down): warning.
                if attempt == 1, failure.code == .connectionLost || failure.code == .heartbeatTimeout {
                    logger.notice("AMQP connection lost; reconnecting", metadata: metadata)
                } else {
                    logger.warning("AMQP connection failed; retrying", metadata: metadata)
                }
                waitOffline(for: delay, &local)
            }
        }
        shutdown()
    }

    private func takeCommands(into local: inout [Command]) {
        inbox.withLock { inbox in
            swap(&inbox.commands, &local)
            inbox.signaled = false
            inbox.longSleep = false
        }
    }

    private func drainWakeFD() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
    }

    /// Waits (interruptibly) while disconnected, answering commands that do not need a connection.
    private func waitOffline(for delay: Duration, _ local: inout [Command]) {
        let deadline = ContinuousClock.now.advanced(by: delay)
        while !closing {
            takeCommands(into: &local)
            for command in local { handleOffline(command) }
            local.removeAll(keepingCapacity: true)
            expireTimeouts()
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero || closing { return }
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let milliseconds = Int32(min(250, max(1, ReconnectBackoff.seconds(remaining) * 1000)))
            let idle = inbox.withLock { inbox -> Bool in
                guard inbox.commands.isEmpty else { return false }
                inbox.longSleep = true
                return true
            }
            if idle, poll(&fds, 1, milliseconds) > 0 { drainWakeFD() }
        }
    }

    private func handleOffline(_ command: Command) {
        switch command {
        case .publish(let pending): waitingPublishes.append(pending)
        case .settle: break  // stale: the broker requeues unsettled deliveries of a lost connection
        case .consume(let entry, let continuation):
            register(entry)
            continuation.resume()
        case .cancel(let tag): removeConsumer(tag, error: nil)
        case .declare(_, let continuation): continuation.resume(throwing: AMQPError.notConnected())
        case .queueStatus(_, let continuation): continuation.resume(throwing: AMQPError.notConnected())
        case .deleteQueue(_, let continuation): continuation.resume(throwing: AMQPError.notConnected())
        case .purgeQueue(_, let continuation): continuation.resume(throwing: AMQPError.notConnected())
        case .close:
            closing = true
            inbox.withLock { $0.accepting = false }
        }
    }

    // MARK: Connect and set up

    private func connect() throws {
        guard let state = amqp_new_connection() else { throw AMQPError.connectionFailed("out of memory") }
        connection = state
        let url = configuration.url
        let socket: OpaquePointer?
        if url.tls {
            guard let ssl = amqp_ssl_socket_new(state) else { throw AMQPError.tlsFailure("cannot create TLS socket") }
            socket = ssl
            try check(amqp_ssl_socket_set_ssl_versions(ssl, AMQP_TLSv1_2, AMQP_TLSvLATEST), tls: "TLS versions")
            try check(amqp_ssl_socket_set_cacert(ssl, configuration.tls.caFile ?? ""), tls: "CA file")
            if let certificate = configuration.tls.certificateFile, let key = configuration.tls.keyFile {
                try check(amqp_ssl_socket_set_key(ssl, certificate, key), tls: "client certificate")
            }
            amqp_ssl_socket_set_verify_peer(ssl, 1)
            amqp_ssl_socket_set_verify_hostname(ssl, 1)
        } else {
            socket = amqp_tcp_socket_new(state)
        }
        guard let socket else { throw AMQPError.connectionFailed("cannot create socket") }
        var connectTimeout = Self.makeTimeval(configuration.connectTimeout)
        let opened = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &connectTimeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            // rabbitmq-c keeps the socket's own error to itself (its errno is the non-blocking EINPROGRESS): one plain
            // connect to the same address tells a refused port from an unreachable host.
            let osError = opened == AMQP_STATUS_SOCKET_ERROR.rawValue ? Self.connectErrno(host: url.host, port: url.port) : 0
            throw AMQPConnectFailure.error(.init(stage: .socket, libraryStatus: opened, osError: osError), url: url,
                                           handshakeTimeout: configuration.handshakeTimeout)
        }
        var handshake = Self.makeTimeval(configuration.handshakeTimeout)
        var rpc = Self.makeTimeval(configuration.rpcTimeout)
        _ = amqp_set_handshake_timeout(state, &handshake)
        _ = amqp_set_rpc_timeout(state, &rpc)
        let reply = bg_amqp_login_plain_with_capabilities(
            state, url.virtualHost, 16, configuration.frameMax, configuration.heartbeatSeconds,
            url.user, url.password, configuration.connectionName)
        do {
            try check(reply, "login")
        } catch let error as AMQPError {
            throw AMQPConnectFailure.error(
                .init(stage: .handshake, libraryStatus: error.libraryStatus, replyCode: error.replyCode,
                      replyText: error.replyCode == nil ? nil : error.reason),
                url: url, handshakeTimeout: configuration.handshakeTimeout)
        }
        for channel in [Self.consumerChannel, Self.publishChannel, Self.operationChannel] {
            amqp_channel_open(state, channel)
            try check(amqp_get_rpc_reply(state), "channel.open")
        }
        amqp_confirm_select(state, Self.publishChannel)
        try check(amqp_get_rpc_reply(state), "confirm.select")

        generationCounter += 1
        generation = generationCounter
        acks.reset()
        for index in incoming.indices { incoming[index] = nil }

        for declaration in configuration.topology + rememberedDeclarations {
            try declare(declaration)
        }
        for tag in consumerOrder {
            guard let entry = consumers[tag] else { continue }
            do {
                try ensureQueueExists(entry.queue)
            } catch let error as AMQPError where error.code == .brokerClosed {
                removeConsumer(tag, error: error)
                continue
            }
            try startConsumer(entry)
        }
        liveGeneration.store(generation, ordering: .releasing)
    }

    /// The OS error of one TCP connect to `host:port` (waiting at most 2 s), 0 when it connects or cannot be told.
    static func connectErrno(host: String, port: Int) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let info = found else { return 0 }
        defer { freeaddrinfo(found) }
        let fd = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), info.pointee.ai_protocol)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, 2000) == 1 else { return ETIMEDOUT }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error
    }

    private static func statusError(_ status: Int32) -> AMQPError {
        let reason = String(cString: amqp_error_string2(status))
        switch status {
        case AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue: return AMQPError(code: .heartbeatTimeout, reason: reason, libraryStatus: status)
        case AMQP_STATUS_TIMEOUT.rawValue: return AMQPError(code: .timeout, reason: reason, libraryStatus: status)
        default: return AMQPError.connectionLost(reason, status: status)
        }
    }

    private func check(_ status: Int32, tls what: String) throws {
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError.tlsFailure("\(what): \(String(cString: amqp_error_string2(status)))", status: status)
        }
    }

    private func check(_ status: Int32) throws {
        guard status == AMQP_STATUS_OK.rawValue else { throw Self.statusError(status) }
    }

    /// Turns an RPC reply into an error: broker channel/connection close → `brokerClosed`, library failure →
    /// the status mapped.
    private func check(_ reply: amqp_rpc_reply_t, _ what: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == BG_AMQP_CHANNEL_CLOSE_METHOD, let decoded = reply.reply.decoded {
                let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                throw AMQPError.brokerClosed(replyCode: close.reply_code, reason: CBridge.string(close.reply_text))
            }
            if reply.reply.id == BG_AMQP_CONNECTION_CLOSE_METHOD, let decoded = reply.reply.decoded {
                let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                var ok = amqp_connection_close_ok_t(dummy: 0)
                if let connection { _ = amqp_send_method(connection, 0, BG_AMQP_CONNECTION_CLOSE_OK_METHOD, &ok) }
                throw AMQPError(code: .connectionLost, replyCode: close.reply_code,
                                reason: CBridge.string(close.reply_text))
            }
            throw AMQPError.protocolError("\(what): unexpected server reply")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw Self.statusError(reply.library_error)
        default:
            throw AMQPError.protocolError("\(what): no reply")
        }
    }

    // MARK: Operations on channel 3 and consumers on channel 1

    /// Runs `body` on the operation channel; a channel error is returned to the caller and the channel
    /// reopened (close-ok + open), so consumers and publishes are not disturbed.
    private func onOperationChannel<T>(_ body: (amqp_connection_state_t) throws -> T) throws -> T {
        guard let connection else { throw AMQPError.notConnected() }
        do {
            return try body(connection)
        } catch let error as AMQPError where error.code == .brokerClosed {
            var ok = amqp_channel_close_ok_t(dummy: 0)
            try check(amqp_send_method(connection, Self.operationChannel, BG_AMQP_CHANNEL_CLOSE_OK_METHOD, &ok))
            amqp_channel_open(connection, Self.operationChannel)
            try check(amqp_get_rpc_reply(connection), "channel.open")
            throw error
        }
    }

    private func declare(_ declaration: AMQPTopology.Declaration) throws {
        try onOperationChannel { connection in
            let arena = CArena()
            switch declaration {
            case .exchange(let name, let type, let durable, let arguments):
                amqp_exchange_declare(connection, Self.operationChannel, arena.bytes(name), arena.bytes(type), 0,
                                      durable ? 1 : 0, 0, 0, arena.table(arguments))
            case .queue(let name, let durable, let exclusive, let autoDelete, let arguments):
                amqp_queue_declare(connection, Self.operationChannel, arena.bytes(name), 0, durable ? 1 : 0,
                                   exclusive ? 1 : 0, autoDelete ? 1 : 0, arena.table(arguments))
            case .binding(let queue, let exchange, let routingKey):
                amqp_queue_bind(connection, Self.operationChannel, arena.bytes(queue), arena.bytes(exchange),
                                arena.bytes(routingKey), amqp_table_t(num_entries: 0, entries: nil))
            }
            try check(amqp_get_rpc_reply(connection), "declare")
        }
    }

    private func ensureQueueExists(_ queue: String) throws {
        _ = try queueStatus(queue)
    }

    private func queueStatus(_ queue: String) throws -> AMQPQueueStatus {
        try onOperationChannel { connection in
            let arena = CArena()
            let ok = amqp_queue_declare(connection, Self.operationChannel, arena.bytes(queue), 1, 0, 0, 0,
                                        amqp_table_t(num_entries: 0, entries: nil))
            try check(amqp_get_rpc_reply(connection), "queue.declare passive")
            guard let ok else { throw AMQPError.protocolError("queue.declare-ok missing") }
            return AMQPQueueStatus(messageCount: ok.pointee.message_count, consumerCount: ok.pointee.consumer_count)
        }
    }

    private func startConsumer(_ entry: ConsumerEntry) throws {
        guard let connection else { throw AMQPError.notConnected() }
        amqp_basic_qos(connection, Self.consumerChannel, 0, entry.prefetch, 0)
        try check(amqp_get_rpc_reply(connection), "basic.qos")
        let arena = CArena()
        amqp_basic_consume(connection, Self.consumerChannel, arena.bytes(entry.queue), arena.bytes(entry.tag), 0, 0, 0,
                           amqp_table_t(num_entries: 0, entries: nil))
        try check(amqp_get_rpc_reply(connection), "basic.consume")
    }

    private func register(_ entry: ConsumerEntry) {
        if consumers[entry.tag] == nil { consumerOrder.append(entry.tag) }
        consumers[entry.tag] = entry
    }

    private func removeConsumer(_ tag: String, error: AMQPError?) {
        guard let entry = consumers.removeValue(forKey: tag) else { return }
        consumerOrder.removeAll { $0 == tag }
        if let error {
            entry.continuation.finish(throwing: error)
        } else {
            entry.continuation.finish()
        }
    }

    // MARK: Serving a live connection

    private func serve(_ local: inout [Command]) throws {
        guard let connection else { throw AMQPError.notConnected() }
        let socketFD = amqp_get_sockfd(connection)
        var fds = [pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        var frame = amqp_frame_t()
        let clock = ContinuousClock()
        var lastActivity = clock.now
        while true {
            takeCommands(into: &local)
            if !local.isEmpty {
                for command in local { try handle(command) }
                local.removeAll(keepingCapacity: true)
                lastActivity = clock.now
            }
            try flushAcks()
            if !blocked, !waitingPublishes.isEmpty { try sendWaitingPublishes() }
            expireTimeouts()
            if closing, confirms.isEmpty, waitingPublishes.isEmpty || blocked {
                closeGracefully()
                return
            }
            var frames = 0
            var drained = false
            while frames < 256 {
                let status = amqp_simple_wait_frame_noblock(connection, &frame, &zero)
                if status == AMQP_STATUS_TIMEOUT.rawValue {
                    drained = true
                    break
                }
                guard status == AMQP_STATUS_OK.rawValue else { throw Self.statusError(status) }
                try handleFrame(frame)
                frames += 1
            }
            flushDeliveries()
            if amqp_frames_enqueued(connection) == 0 { amqp_maybe_release_buffers(connection) }
            guard drained else { continue }
            if frames > 0 { lastActivity = clock.now }
            // Streaming (activity in the last 50 ms): short polls, acks are collected without wake-ups.
            // Idle: long polls, and every command wakes the thread.
            let streaming = lastActivity.duration(to: clock.now) < .milliseconds(50)
            let idle = inbox.withLock { inbox -> Bool in
                guard inbox.commands.isEmpty else { return false }
                inbox.longSleep = !streaming
                return true
            }
            guard idle else { continue }
            fds[0].revents = 0
            fds[1].revents = 0
            if poll(&fds, 2, streaming ? 1 : 200) > 0, fds[1].revents != 0 { drainWakeFD() }
        }
    }

    private func handle(_ command: Command) throws {
        switch command {
        case .publish(let pending):
            if blocked || !waitingPublishes.isEmpty {
                waitingPublishes.append(pending)
            } else {
                try send(pending)
            }
        case .settle(let tag, let commandGeneration, let kind):
            guard commandGeneration == generation, let connection else { return }
            switch kind {
            case .ack:
                acks.ack(tag)
            case .nack(let requeue):
                guard acks.settledIndividually(tag) else { return }
                try check(amqp_basic_nack(connection, Self.consumerChannel, tag, 0, requeue ? 1 : 0))
            case .reject(let requeue):
                guard acks.settledIndividually(tag) else { return }
                try check(amqp_basic_reject(connection, Self.consumerChannel, tag, requeue ? 1 : 0))
            }
        case .consume(let entry, let continuation):
            do {
                try ensureQueueExists(entry.queue)
            } catch let error as AMQPError where error.code == .brokerClosed {
                entry.continuation.finish(throwing: error)
                continuation.resume(throwing: error)
                return
            }
            register(entry)
            do {
                try startConsumer(entry)
                continuation.resume()
            } catch {
                removeConsumer(entry.tag, error: error as? AMQPError ?? .protocolError("basic.consume failed"))
                continuation.resume(throwing: error)
                throw error
            }
        case .cancel(let tag):
            guard consumers[tag] != nil else { return }
            removeConsumer(tag, error: nil)
            guard let connection else { return }
            let arena = CArena()
            amqp_basic_cancel(connection, Self.consumerChannel, arena.bytes(tag))
            try check(amqp_get_rpc_reply(connection), "basic.cancel")
        case .declare(let declarations, let continuation):
            do {
                for declaration in declarations {
                    try declare(declaration)
                    if !rememberedDeclarations.contains(declaration), !configuration.topology.contains(declaration) {
                        rememberedDeclarations.append(declaration)
                    }
                }
                continuation.resume()
            } catch let error as AMQPError where error.code == .brokerClosed {
                continuation.resume(throwing: error)
            } catch {
                continuation.resume(throwing: error)
                throw error
            }
        case .queueStatus(let queue, let continuation):
            do {
                continuation.resume(returning: try queueStatus(queue))
            } catch let error as AMQPError where error.code == .brokerClosed {
                continuation.resume(throwing: error)
            } catch {
                continuation.resume(throwing: error)
                throw error
            }
        case .deleteQueue(let queue, let continuation):
            do {
                try onOperationChannel { connection in
                    let arena = CArena()
                    amqp_queue_delete(connection, Self.operationChannel, arena.bytes(queue), 0, 0)
                    try check(amqp_get_rpc_reply(connection), "queue.delete")
                }
                continuation.resume()
            } catch let error as AMQPError where error.code == .brokerClosed {
                continuation.resume(throwing: error)
            } catch {
                continuation.resume(throwing: error)
                throw error
            }
        case .purgeQueue(let queue, let continuation):
            do {
                let count: UInt32 = try onOperationChannel { connection in
                    let arena = CArena()
                    let ok = amqp_queue_purge(connection, Self.operationChannel, arena.bytes(queue))
                    try check(amqp_get_rpc_reply(connection), "queue.purge")
                    return ok?.pointee.message_count ?? 0
                }
                continuation.resume(returning: count)
            } catch let error as AMQPError where error.code == .brokerClosed {
                continuation.resume(throwing: error)
            } catch {
                continuation.resume(throwing: error)
                throw error
            }
        case .close:
            closing = true
            inbox.withLock { $0.accepting = false }
        }
    }

    private func flushAcks() throws {
        guard acks.hasPending, let connection else { return }
        for frame in acks.flush() {
            try check(amqp_basic_ack(connection, Self.consumerChannel, frame.tag, frame.multiple ? 1 : 0))
        }
    }

    private func send(_ pending: PendingPublish) throws {
        guard let connection else { throw AMQPError.notConnected() }
        let arena = CArena()
        var properties = arena.properties(pending.message.properties)
        var exchange = pending.exchange
        var routingKey = pending.routingKey
        let status: Int32 = exchange.withUTF8 { exchangeBytes in
            routingKey.withUTF8 { routingKeyBytes in
                pending.message.body.withUnsafeBytes { body in
                    amqp_basic_publish(connection, Self.publishChannel, Self.bytes(exchangeBytes), Self.bytes(routingKeyBytes),
                                       pending.mandatory ? 1 : 0, 0, &properties, Self.bytes(body))
                }
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            // Not (completely) written: the broker cannot have taken it. Send it again after reconnecting.
            waitingPublishes.insert(pending, at: 0)
            throw Self.statusError(status)
        }
        confirms.register(pending)
    }

    private static func bytes(_ buffer: UnsafeBufferPointer<UInt8>) -> amqp_bytes_t {
        amqp_bytes_t(len: buffer.count, bytes: buffer.count == 0 ? nil : UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    private static func bytes(_ buffer: UnsafeRawBufferPointer) -> amqp_bytes_t {
        amqp_bytes_t(len: buffer.count, bytes: buffer.count == 0 ? nil : UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    private func sendWaitingPublishes() throws {
        let batch = waitingPublishes
        waitingPublishes.removeAll(keepingCapacity: true)
        for (index, pending) in batch.enumerated() {
            do {
                try send(pending)
            } catch {
                waitingPublishes.append(contentsOf: batch[(index + 1)...])
                throw error
            }
        }
    }

    private func expireTimeouts() {
        guard !waitingPublishes.isEmpty || !confirms.isEmpty else { return }
        let now = ContinuousClock.now
        if !waitingPublishes.isEmpty, waitingPublishes.contains(where: { $0.deadline <= now }) {
            let expired = waitingPublishes.filter { $0.deadline <= now }
            waitingPublishes.removeAll { $0.deadline <= now }
            for pending in expired { pending.continuation.resume(throwing: AMQPError.timeout("publish not sent in time")) }
        }
        for pending in confirms.removeExpired({ $0.deadline <= now }) {
            pending.continuation.resume(throwing: AMQPError.timeout("publish not confirmed in time"))
        }
    }

    // MARK: Frames

    private func handleFrame(_ frame: amqp_frame_t) throws {
        let channel = Int(frame.channel)
        switch frame.frame_type {
        case BG_AMQP_FRAME_METHOD:
            try handleMethod(frame.payload.method, channel: frame.channel)
        case BG_AMQP_FRAME_HEADER:
            guard channel < incoming.count, incoming[channel] != nil else {
                throw AMQPError.protocolError("content header without a method")
            }
            let header = frame.payload.properties
            incoming[channel]!.bodySize = Int(header.body_size)
            incoming[channel]!.properties = CBridge.properties(header.decoded)
            incoming[channel]!.body.reserveCapacity(Int(header.body_size))
            if header.body_size == 0 { try completeContent(channel: channel) }
        case BG_AMQP_FRAME_BODY:
            guard channel < incoming.count, incoming[channel] != nil, incoming[channel]!.bodySize >= 0 else {
                throw AMQPError.protocolError("content body without a header")
            }
            let fragment = frame.payload.body_fragment
            if fragment.len > 0, let pointer = fragment.bytes {
                incoming[channel]!.body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: fragment.len))
            }
            if incoming[channel]!.body.count >= incoming[channel]!.bodySize { try completeContent(channel: channel) }
        default:
            break
        }
    }

    private func handleMethod(_ method: amqp_method_t, channel: amqp_channel_t) throws {
        guard let decoded = method.decoded else { return }
        switch method.id {
        case BG_AMQP_BASIC_DELIVER_METHOD:
            let deliver = decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            incoming[Int(Self.consumerChannel)] = Incoming(kind: .delivery(
                consumerTag: CBridge.string(deliver.consumer_tag), tag: deliver.delivery_tag,
                redelivered: deliver.redelivered != 0, exchange: CBridge.string(deliver.exchange),
                routingKey: CBridge.string(deliver.routing_key)))
        case BG_AMQP_BASIC_RETURN_METHOD:
            let returned = decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            incoming[Int(Self.publishChannel)] = Incoming(kind: .returned(
                replyCode: returned.reply_code, replyText: CBridge.string(returned.reply_text),
                exchange: CBridge.string(returned.exchange), routingKey: CBridge.string(returned.routing_key)))
        case BG_AMQP_BASIC_ACK_METHOD:
            let ack = decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            resolve(confirms.settle(tag: ack.delivery_tag, multiple: ack.multiple != 0, nack: false))
        case BG_AMQP_BASIC_NACK_METHOD:
            let nack = decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            resolve(confirms.settle(tag: nack.delivery_tag, multiple: nack.multiple != 0, nack: true))
        case BG_AMQP_BASIC_CANCEL_METHOD:
            let cancel = decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            let tag = CBridge.string(cancel.consumer_tag)
            flushDeliveries()
            logger.info("AMQP consumer cancelled by the broker", metadata: ["breakglass.amqp.consumer_tag": "\(tag)"])
            removeConsumer(tag, error: AMQPError.consumerCancelled())
        case BG_AMQP_CONNECTION_BLOCKED_METHOD:
            blocked = true
            publishState(.blocked)
            logger.info("AMQP connection blocked by the broker; publishes wait")
        case BG_AMQP_CONNECTION_UNBLOCKED_METHOD:
            blocked = false
            publishState(.ready)
            logger.info("AMQP connection unblocked")
        case BG_AMQP_CHANNEL_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            throw AMQPError.brokerClosed(replyCode: close.reply_code, reason: CBridge.string(close.reply_text))
        case BG_AMQP_CONNECTION_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            var ok = amqp_connection_close_ok_t(dummy: 0)
            if let connection { _ = amqp_send_method(connection, 0, BG_AMQP_CONNECTION_CLOSE_OK_METHOD, &ok) }
            throw AMQPError(code: .connectionLost, replyCode: close.reply_code, reason: CBridge.string(close.reply_text))
        default:
            break
        }
    }

    private func completeContent(channel: Int) throws {
        guard let content = incoming[channel] else { return }
        incoming[channel] = nil
        switch content.kind {
        case .delivery(let consumerTag, let tag, let redelivered, let exchange, let routingKey):
            if let consumer = consumers[consumerTag] {
                readyDeliveries.append((consumer.continuation, AMQPDelivery(
                    body: content.body, properties: content.properties, exchange: exchange, routingKey: routingKey,
                    consumerTag: consumerTag, deliveryTag: tag, redelivered: redelivered, generation: generation,
                    settler: AMQPSettler(target: self))))
            } else if let connection, acks.settledIndividually(tag) {
                // A delivery racing a cancel: give it back to the queue at once.
                try check(amqp_basic_reject(connection, Self.consumerChannel, tag, 1))
            }
        case .returned(let replyCode, let replyText, let exchange, let routingKey):
            let body = content.body
            confirms.markReturned(replyCode: replyCode, replyText: replyText) {
                $0.exchange == exchange && $0.routingKey == routingKey && $0.message.body == body
            }
        }
    }

    private func flushDeliveries() {
        guard !readyDeliveries.isEmpty else { return }
        for (continuation, delivery) in readyDeliveries { continuation.yield(delivery) }
        readyDeliveries.removeAll(keepingCapacity: true)
    }

    private func resolve(_ settled: [(PendingPublish, ConfirmTracker<PendingPublish>.Outcome)]) {
        for (pending, outcome) in settled {
            switch outcome {
            case .confirmed: pending.continuation.resume()
            case .nacked: pending.continuation.resume(throwing: AMQPError.publishNacked())
            case .returned(let replyCode, let replyText):
                pending.continuation.resume(throwing: AMQPError.publishReturned(replyCode: replyCode, reason: replyText))
            }
        }
    }

    // MARK: Teardown

    private func teardown(after error: AMQPError) {
        liveGeneration.store(0, ordering: .releasing)
        flushDeliveries()
        if let connection {
            amqp_destroy_connection(connection)
        }
        connection = nil
        blocked = false
        acks.reset()
        for index in incoming.indices { incoming[index] = nil }
        for pending in confirms.removeAll() {
            pending.continuation.resume(throwing: AMQPError(code: .connectionLost, reason: "connection lost before the confirm"))
        }
    }

    private func closeGracefully() {
        liveGeneration.store(0, ordering: .releasing)
        if let connection {
            _ = amqp_connection_close(connection, AMQP_REPLY_SUCCESS)
            amqp_destroy_connection(connection)
        }
        connection = nil
    }

    private func shutdown() {
        liveGeneration.store(0, ordering: .releasing)
        if let connection {
            amqp_destroy_connection(connection)
            self.connection = nil
        }
        var remaining: [Command] = []
        inbox.withLock { inbox in
            inbox.accepting = false
            swap(&inbox.commands, &remaining)
        }
        for command in remaining { Self.fail(command, with: .closed()) }
        for pending in waitingPublishes { pending.continuation.resume(throwing: AMQPError.closed()) }
        waitingPublishes.removeAll()
        for pending in confirms.removeAll() { pending.continuation.resume(throwing: AMQPError.closed()) }
        for tag in consumerOrder { consumers[tag]?.continuation.finish() }
        consumers.removeAll()
        consumerOrder.removeAll()
        let (watchers, waiters) = observed.withLock { observed in
            observed.state = .closed
            observed.finished = true
            let result = (Array(observed.watchers.values), observed.closeWaiters)
            observed.watchers.removeAll()
            observed.closeWaiters.removeAll()
            return result
        }
        for watcher in watchers {
            watcher.yield(.closed)
            watcher.finish()
        }
        for waiter in waiters { waiter.resume() }
        logger.info("AMQP connection closed", metadata: ["breakglass.amqp.url": "\(configuration.url.redacted)"])
    }

    private static func fail(_ command: Command, with error: AMQPError) {
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

    private func publishState(_ state: AMQPConnectionState) {
        observed.withLock { observed in
            guard observed.state != state, !observed.finished else { return }
            observed.state = state
            for watcher in observed.watchers.values { watcher.yield(state) }
        }
    }

    static func makeTimeval(_ duration: Duration) -> timeval {
        let components = duration.components
        return timeval(tv_sec: Int(components.seconds), tv_usec: Int(components.attoseconds / 1_000_000_000_000))
    }
}

/// Message and consumer counts of a queue (from a passive `queue.declare`).
public struct AMQPQueueStatus: Sendable, Equatable {
    public var messageCount: UInt32
    public var consumerCount: UInt32
}
