import CRabbitMQ

/// The methods the connection sends, one library call (plus its reply) each.
extension RabbitMQConnection {
    // MARK: Operation channel

    /// Runs `body` on the operation channel; a channel error is returned to the caller and the channel
    /// reopened (close-ok + open), so consumers and publishes are not disturbed.
    private func onOperationChannel<T>(_ body: (amqp_connection_state_t) throws -> T) throws -> T {
        do {
            return try body(state)
        } catch let error as AMQPError where error.code == .brokerClosed {
            var ok = amqp_channel_close_ok_t(dummy: 0)
            try check(amqp_send_method(state, Self.operationChannel, BG_AMQP_CHANNEL_CLOSE_OK_METHOD, &ok))
            amqp_channel_open(state, Self.operationChannel)
            try checkReply("channel.open")
            throw error
        }
    }

    func declare(_ declaration: AMQPTopology.Declaration) throws {
        try onOperationChannel { connection in
            let arena = CArena()
            switch declaration {
            case .exchange(let name, let type, let durable, let arguments):
                amqp_exchange_declare(
                    connection, Self.operationChannel, arena.bytes(name), arena.bytes(type), 0,
                    durable ? 1 : 0, 0, 0, arena.table(arguments))
            case .queue(let name, let durable, let exclusive, let autoDelete, let arguments):
                amqp_queue_declare(
                    connection, Self.operationChannel, arena.bytes(name), 0, durable ? 1 : 0,
                    exclusive ? 1 : 0, autoDelete ? 1 : 0, arena.table(arguments))
            case .binding(let queue, let exchange, let routingKey):
                amqp_queue_bind(
                    connection, Self.operationChannel, arena.bytes(queue), arena.bytes(exchange),
                    arena.bytes(routingKey), amqp_table_t(num_entries: 0, entries: nil))
            }
            try checkReply("declare")
        }
    }

    /// Message and consumer count of a queue (passive declare); `brokerClosed` 404 when it does not exist.
    func queueStatus(_ queue: String) throws -> AMQPQueueStatus {
        try onOperationChannel { connection in
            let arena = CArena()
            let ok = amqp_queue_declare(
                connection, Self.operationChannel, arena.bytes(queue), 1, 0, 0, 0,
                amqp_table_t(num_entries: 0, entries: nil))
            try checkReply("queue.declare passive")
            guard let ok else { throw AMQPError.protocolError("queue.declare-ok missing") }
            return AMQPQueueStatus(messageCount: ok.pointee.message_count, consumerCount: ok.pointee.consumer_count)
        }
    }

    func deleteQueue(_ queue: String) throws {
        try onOperationChannel { connection in
            let arena = CArena()
            amqp_queue_delete(connection, Self.operationChannel, arena.bytes(queue), 0, 0)
            try checkReply("queue.delete")
        }
    }

    func purgeQueue(_ queue: String) throws -> UInt32 {
        try onOperationChannel { connection in
            let arena = CArena()
            let ok = amqp_queue_purge(connection, Self.operationChannel, arena.bytes(queue))
            try checkReply("queue.purge")
            return ok?.pointee.message_count ?? 0
        }
    }

    // MARK: Consumer channel

    func startConsumer(queue: String, tag: String, prefetch: UInt16) throws {
        amqp_basic_qos(state, Self.consumerChannel, 0, prefetch, 0)
        try checkReply("basic.qos")
        let arena = CArena()
        amqp_basic_consume(
            state, Self.consumerChannel, arena.bytes(queue), arena.bytes(tag), 0, 0, 0,
            amqp_table_t(num_entries: 0, entries: nil))
        try checkReply("basic.consume")
    }

    func cancelConsumer(tag: String) throws {
        let arena = CArena()
        amqp_basic_cancel(state, Self.consumerChannel, arena.bytes(tag))
        try checkReply("basic.cancel")
    }

    func ack(tag: UInt64, multiple: Bool) throws {
        try check(amqp_basic_ack(state, Self.consumerChannel, tag, multiple ? 1 : 0))
    }

    func nack(tag: UInt64, requeue: Bool) throws {
        try check(amqp_basic_nack(state, Self.consumerChannel, tag, 0, requeue ? 1 : 0))
    }

    func reject(tag: UInt64, requeue: Bool) throws {
        try check(amqp_basic_reject(state, Self.consumerChannel, tag, requeue ? 1 : 0))
    }

    // MARK: Publish channel

    /// Writes a publish; throws when it was not (completely) written (the broker cannot have taken it).
    func publish(_ message: AMQPMessage, exchange: String, routingKey: String, mandatory: Bool) throws {
        let arena = CArena()
        var properties = arena.properties(message.properties)
        var exchange = exchange
        var routingKey = routingKey
        let status: Int32 = exchange.withUTF8 { exchangeBytes in
            routingKey.withUTF8 { routingKeyBytes in
                message.body.withUnsafeBytes { body in
                    amqp_basic_publish(
                        state, Self.publishChannel, Self.bytes(exchangeBytes), Self.bytes(routingKeyBytes),
                        mandatory ? 1 : 0, 0, &properties, Self.bytes(body))
                }
            }
        }
        try check(status)
    }
}
