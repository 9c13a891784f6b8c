import CRabbitMQ
import Logging

/// What the I/O thread does with each frame read: decode it, let the assembler and the state machine decide.
extension AMQPConnectionCore {
    func handleFrame(_ frame: amqp_frame_t) throws {
        switch frame.frame_type {
        case BG_AMQP_FRAME_METHOD:
            try handleMethod(CBridge.inboundMethod(frame.payload.method), channel: frame.channel)
        case BG_AMQP_FRAME_HEADER:
            guard assembler.isAssembling(channel: frame.channel) else {
                throw AMQPError.protocolError("content header without a method")
            }
            let header = frame.payload.properties
            if let content = try assembler.header(
                channel: frame.channel, bodySize: header.body_size,
                properties: CBridge.properties(header.decoded))
            {
                try complete(content)
            }
        case BG_AMQP_FRAME_BODY:
            let fragment = frame.payload.body_fragment
            let bytes =
                fragment.len > 0 && fragment.bytes != nil
                ? UnsafeRawBufferPointer(start: fragment.bytes, count: fragment.len)
                : UnsafeRawBufferPointer(start: nil, count: 0)
            if let content = try assembler.body(channel: frame.channel, fragment: bytes) {
                try complete(content)
            }
        default:
            break
        }
    }

    private func handleMethod(_ method: AMQPInboundMethod, channel: amqp_channel_t) throws {
        switch method {
        case .deliver(let start), .returned(let start):
            assembler.begin(start, channel: channel)
        case .confirm(let tag, let multiple, let nack):
            complete(machine.confirm(tag: tag, multiple: multiple, nack: nack))
        case .consumerCancelled(let tag):
            flushDeliveries()
            logger.info("AMQP consumer cancelled by the broker", metadata: ["breakglass.amqp.consumer_tag": "\(tag)"])
            end(machine.brokerCancelled(tag: tag))
        case .blocked:
            if let state = machine.brokerBlocked() { publishState(state) }
            logger.info("AMQP connection blocked by the broker; publishes wait")
        case .unblocked:
            if let state = machine.brokerUnblocked() { publishState(state) }
            logger.info("AMQP connection unblocked")
        case .close(let reply):
            if reply.isConnectionClose { connection?.sendConnectionCloseOk() }
            throw reply.error(during: "close") ?? AMQPError.protocolError("close: no reply")
        case .other:
            break
        }
    }

    /// A complete content: a delivery for a consumer, or a returned publish.
    private func complete(_ content: FrameAssembler.Content) throws {
        switch content.start {
        case .delivery(let consumerTag, let tag, let redelivered, let exchange, let routingKey):
            switch machine.delivery(consumerTag: consumerTag, deliveryTag: tag) {
            case .deliver(let consumer, let generation):
                readyDeliveries.append(
                    (
                        consumer.continuation,
                        AMQPDelivery(
                            body: content.body, properties: content.properties, exchange: exchange,
                            routingKey: routingKey,
                            consumerTag: consumerTag, deliveryTag: tag, redelivered: redelivered,
                            generation: generation,
                            settler: AMQPSettler(target: self))
                    ))
            case .reject(let tag):
                // A delivery racing a cancel: give it back to the queue at once.
                try connection?.reject(tag: tag, requeue: true)
            case .drop:
                break
            }
        case .returned(let replyCode, let replyText, let exchange, let routingKey):
            machine.returned(
                replyCode: replyCode, replyText: replyText, exchange: exchange, routingKey: routingKey,
                body: content.body)
        }
    }
}
