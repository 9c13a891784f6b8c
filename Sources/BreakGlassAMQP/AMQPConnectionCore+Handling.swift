import CRabbitMQ
import Logging

/// What the I/O thread does for each command and each frame: ask the state machine, perform what it returns.
extension AMQPConnectionCore {
    // MARK: Commands

    /// Handles one command, with or without a live connection (the state machine tells which applies). Throws
    /// only when the connection failed.
    func handle(_ command: Command) throws {
        switch command {
        case .publish(let pending):
            switch machine.publish(pending) {
            case .send(let pending): try send([pending])
            case .wait: break
            case .fail(let completion): complete([completion])
            }
        case .settle(let tag, let generation, let kind):
            guard let action = machine.settle(tag: tag, generation: generation, kind: kind), let connection else {
                return
            }
            switch action {
            case .nack(let tag, let requeue): try connection.nack(tag: tag, requeue: requeue)
            case .reject(let tag, let requeue): try connection.reject(tag: tag, requeue: requeue)
            }
        case .consume(let entry, let continuation):
            switch machine.consume(entry) {
            case .registered:
                continuation.resume()
            case .fail(let error):
                entry.continuation.finish(throwing: error)
                continuation.resume(throwing: error)
            case .startOnBroker:
                try startConsumer(entry, continuation)
            }
        case .cancel(let tag):
            guard let cancel = machine.cancel(tag: tag) else { return }
            end(cancel.end)
            if cancel.sendToBroker, let connection { try connection.cancelConsumer(tag: tag) }
        case .declare(let declarations, let continuation):
            try runOperation(continuation) { connection in
                for declaration in declarations {
                    try connection.declare(declaration)
                    machine.declared(declaration)
                }
            }
        case .queueStatus(let queue, let continuation):
            try runOperation(continuation) { try $0.queueStatus(queue) }
        case .deleteQueue(let queue, let continuation):
            try runOperation(continuation) { try $0.deleteQueue(queue) }
        case .purgeQueue(let queue, let continuation):
            try runOperation(continuation) { try $0.purgeQueue(queue) }
        case .close:
            machine.close()
            inbox.withLock { $0.accepting = false }
        }
    }

    /// Runs an operation on the operation channel and answers it. A refused operation (channel error) fails only
    /// it; any other failure is the connection's and is thrown on.
    private func runOperation<T>(
        _ continuation: CheckedContinuation<T, any Error>,
        _ body: (RabbitMQConnection) throws -> T
    ) throws {
        guard machine.operationError == nil, let connection else {
            continuation.resume(throwing: machine.operationError ?? AMQPError.notConnected())
            return
        }
        do {
            continuation.resume(returning: try body(connection))
        } catch let error as AMQPError where error.code == .brokerClosed {
            continuation.resume(throwing: error)
        } catch {
            continuation.resume(throwing: error)
            throw error
        }
    }

    /// Starts a consumer on the live connection: its queue must exist (404 fails only this consumer).
    private func startConsumer(_ entry: ConsumerEntry, _ continuation: CheckedContinuation<Void, any Error>) throws {
        let failure: AMQPError
        if let connection {
            do {
                _ = try connection.queueStatus(entry.queue)
                machine.register(entry)
            } catch {
                failure = error as? AMQPError ?? .protocolError("queue.declare passive failed")
                // A missing queue fails only this consumer; any other failure is also the connection's.
                entry.continuation.finish(throwing: failure)
                continuation.resume(throwing: failure)
                if failure.code == .brokerClosed { return }
                throw failure
            }
            do {
                try connection.startConsumer(queue: entry.queue, tag: entry.tag, prefetch: entry.prefetch)
                continuation.resume()
            } catch {
                end(
                    machine.removeConsumer(
                        tag: entry.tag, error: error as? AMQPError ?? .protocolError("basic.consume failed")))
                continuation.resume(throwing: error)
                throw error
            }
        } else {
            failure = AMQPError.notConnected()
            entry.continuation.finish(throwing: failure)
            continuation.resume(throwing: failure)
        }
    }

    /// Writes publishes in order; the first that cannot be written and all after it wait for the next connection.
    func send(_ batch: [PendingPublish]) throws {
        guard !batch.isEmpty else { return }
        guard let connection else {
            machine.publishesNotSent(batch)
            throw AMQPError.notConnected()
        }
        for (index, pending) in batch.enumerated() {
            do {
                try connection.publish(
                    pending.message, exchange: pending.exchange, routingKey: pending.routingKey,
                    mandatory: pending.mandatory)
            } catch {
                machine.publishesNotSent(batch[index...])
                throw error
            }
            machine.publishSent(pending)
        }
    }

    func flushAcks() throws {
        let frames = machine.takeAckFrames()
        guard !frames.isEmpty, let connection else { return }
        for frame in frames {
            try connection.ack(tag: frame.tag, multiple: frame.multiple)
        }
    }

    // MARK: Completions

    func complete(_ completions: [Machine.PublishCompletion]) {
        for completion in completions {
            if let error = completion.error {
                completion.publish.continuation.resume(throwing: error)
            } else {
                completion.publish.continuation.resume()
            }
        }
    }

    func end(_ ends: [Machine.ConsumerEnd]) {
        for end in ends { self.end(end) }
    }

    func end(_ end: Machine.ConsumerEnd?) {
        guard let end else { return }
        if let error = end.error {
            end.consumer.continuation.finish(throwing: error)
        } else {
            end.consumer.continuation.finish()
        }
    }

    func flushDeliveries() {
        guard !readyDeliveries.isEmpty else { return }
        for (continuation, delivery) in readyDeliveries { continuation.yield(delivery) }
        readyDeliveries.removeAll(keepingCapacity: true)
    }
}
