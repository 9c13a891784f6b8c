import CRabbitMQ
import Foundation
import Logging
#if canImport(Glibc)
    import Glibc
#endif

/// The I/O thread's loop: connect, serve, wait out the backoff, shut down. Heartbeats are serviced only inside
/// library calls (reading frames), which this loop makes at least every 200 ms.
extension AMQPConnectionCore {
    func run() {
        var local: [Command] = []
        while machine.wantsConnection {
            do {
                try connect()
                let state = machine.connectionReady()
                liveGeneration.store(machine.liveGeneration, ordering: .releasing)
                observed.withLock { $0.lastFailure = nil }
                if let state { publishState(state) }
                logger.info(
                    "AMQP connection ready",
                    metadata: [
                        "breakglass.amqp.url": "\((connectedURL ?? configuration.url).redacted)",
                        "breakglass.amqp.generation": .stringConvertible(machine.liveGeneration),
                    ])
                try serve(&local)
            } catch {
                let failure = error as? AMQPError ?? AMQPError.protocolError("unexpected error")
                // A lost node may be down: the next attempt starts with the next node of the cluster.
                if connectedURL != nil, configuration.endpoints.count > 1 {
                    endpointIndex = (endpointIndex + 1) % configuration.endpoints.count
                }
                connectedURL = nil
                teardown()
                let outcome = machine.connectionFailed(failure)
                complete(outcome.publishes)
                guard case .reconnect(let attempt, let delay, let state) = outcome.next else { break }
                observed.withLock { $0.lastFailure = failure }
                publishState(state)
                logFailure(failure, attempt: attempt, delay: delay)
                waitOffline(for: delay, &local)
            }
        }
        shutdown(leftover: local)
    }

    private func logFailure(_ failure: AMQPError, attempt: Int, delay: Duration) {
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
    }

    /// Opens a connection to the first node that answers, starting with `endpointIndex` (round robin); throws the
    /// last node's error when none does.
    private func openAnyEndpoint() throws -> RabbitMQConnection {
        let endpoints = configuration.endpoints
        var lastError: any Error = AMQPError.connectionFailed("no broker node configured")
        for offset in 0..<endpoints.count {
            let index = (endpointIndex + offset) % endpoints.count
            do {
                let opened = try RabbitMQConnection.open(configuration, url: endpoints[index])
                endpointIndex = index
                connectedURL = endpoints[index]
                return opened
            } catch {
                lastError = error
                if endpoints.count > 1 {
                    logger.notice(
                        "AMQP node unreachable; trying the next node of the cluster",
                        metadata: [
                            "breakglass.amqp.url": "\(endpoints[index].redacted)",
                            "breakglass.amqp.error": "\((error as? AMQPError)?.code.rawValue ?? "unknown")",
                        ])
                }
            }
        }
        throw lastError
    }

    /// Opens a connection and restores on it what the state machine remembers: topology, declarations, consumers.
    private func connect() throws {
        let opened = try openAnyEndpoint()
        connection = opened
        let setup = machine.connectionOpened()
        assembler.reset()
        for declaration in setup.declarations {
            try opened.declare(declaration)
        }
        for entry in setup.consumers {
            do {
                _ = try opened.queueStatus(entry.queue)
            } catch let error as AMQPError where error.code == .brokerClosed {
                end(machine.removeConsumer(tag: entry.tag, error: error))
                continue
            }
            try opened.startConsumer(queue: entry.queue, tag: entry.tag, prefetch: entry.prefetch)
        }
    }

    /// Moves the inbox's commands behind those still in `local`.
    private func takeCommands(into local: inout [Command]) {
        inbox.withLock { inbox in
            if local.isEmpty {
                swap(&inbox.commands, &local)
            } else {
                local.append(contentsOf: inbox.commands)
                inbox.commands.removeAll(keepingCapacity: true)
            }
            inbox.signaled = false
            inbox.longSleep = false
        }
    }

    /// Handles the commands in `local` in order; every command handled (also one that throws) leaves `local`, so
    /// none is handled twice and none is lost when the connection fails in between.
    private func handleCommands(_ local: inout [Command]) throws {
        var handled = 0
        defer { local.removeFirst(handled) }
        while handled < local.count {
            let command = local[handled]
            handled += 1
            try handle(command)
        }
    }

    private func drainWakeFD() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
    }

    /// Waits (interruptibly) while disconnected, answering commands that do not need a connection.
    private func waitOffline(for delay: Duration, _ local: inout [Command]) {
        let deadline = ContinuousClock.now.advanced(by: delay)
        defer { machine.reconnectDelayElapsed() }
        while !machine.isClosing {
            takeCommands(into: &local)
            // Without a connection no command sends anything, so none can fail here.
            try? handleCommands(&local)
            complete(machine.expire(now: .now))
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero || machine.isClosing { return }
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

    /// Serves the live connection until it fails (throws) or closes gracefully (returns).
    private func serve(_ local: inout [Command]) throws {
        guard let connection else { throw AMQPError.notConnected() }
        var fds = [
            pollfd(fd: connection.socketFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        var frame = amqp_frame_t()
        let clock = ContinuousClock()
        var lastActivity = clock.now
        while true {
            takeCommands(into: &local)
            if !local.isEmpty {
                try handleCommands(&local)
                lastActivity = clock.now
            }
            try flushAcks()
            try send(machine.takeWaitingPublishes())
            complete(machine.expire(now: clock.now))
            if machine.readyToCloseGracefully {
                closeGracefully()
                return
            }
            var frames = 0
            var drained = false
            while frames < 256 {
                guard try connection.nextFrame(&frame) else {
                    drained = true
                    break
                }
                try handleFrame(frame)
                frames += 1
            }
            flushDeliveries()
            connection.releaseBuffersIfIdle()
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

    // MARK: Teardown

    /// The connection failed: drops it (the broker requeues its unsettled deliveries).
    private func teardown() {
        liveGeneration.store(0, ordering: .releasing)
        flushDeliveries()
        connection?.destroy()
        connection = nil
        assembler.reset()
    }

    private func closeGracefully() {
        liveGeneration.store(0, ordering: .releasing)
        connection?.closeGracefully()
        connection = nil
        machine.closedGracefully()
    }

    /// Final: fails every command not handled, every waiting or unconfirmed publish, finishes every consumer
    /// and state watcher, and lets `waitClosed` return.
    private func shutdown(leftover: [Command]) {
        liveGeneration.store(0, ordering: .releasing)
        connection?.destroy()
        connection = nil
        var remaining = leftover
        inbox.withLock { inbox in
            inbox.accepting = false
            remaining.append(contentsOf: inbox.commands)
            inbox.commands.removeAll()
        }
        for command in remaining { Self.fail(command, with: .closed()) }
        let ended = machine.shutdown()
        complete(ended.publishes)
        end(ended.consumers)
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
        logger.info(
            "AMQP connection closed",
            metadata: ["breakglass.amqp.url": "\((connectedURL ?? configuration.url).redacted)"])
    }
}
