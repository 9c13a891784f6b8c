import CRabbitMQ

/// A method frame from the broker that the connection acts on, copied out of the library's pools.
enum AMQPInboundMethod: Sendable, Equatable {
    case deliver(FrameAssembler.Start)
    case returned(FrameAssembler.Start)
    case confirm(tag: UInt64, multiple: Bool, nack: Bool)
    case consumerCancelled(tag: String)
    case blocked
    case unblocked
    /// `channel.close` / `connection.close` (see `AMQPBrokerReply`).
    case close(AMQPBrokerReply)
    case other
}

extension CBridge {
    /// Decodes an RPC reply.
    static func reply(_ reply: amqp_rpc_reply_t) -> AMQPBrokerReply {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return .normal
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if let close = closeReply(reply.reply) { return close }
            return .unexpectedServerMethod
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return .libraryFailure(status: reply.library_error)
        default:
            return .none
        }
    }

    /// `channel.close` / `connection.close` as a reply; nil for any other method.
    static func closeReply(_ method: amqp_method_t) -> AMQPBrokerReply? {
        guard let decoded = method.decoded else { return nil }
        switch method.id {
        case BG_AMQP_CHANNEL_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return .channelClose(replyCode: close.reply_code, replyText: string(close.reply_text))
        case BG_AMQP_CONNECTION_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return .connectionClose(replyCode: close.reply_code, replyText: string(close.reply_text))
        default:
            return nil
        }
    }

    /// Decodes a method frame the connection acts on.
    static func inboundMethod(_ method: amqp_method_t) -> AMQPInboundMethod {
        guard let decoded = method.decoded else { return .other }
        switch method.id {
        case BG_AMQP_BASIC_DELIVER_METHOD:
            let deliver = decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            return .deliver(
                .delivery(
                    consumerTag: string(deliver.consumer_tag), deliveryTag: deliver.delivery_tag,
                    redelivered: deliver.redelivered != 0, exchange: string(deliver.exchange),
                    routingKey: string(deliver.routing_key)))
        case BG_AMQP_BASIC_RETURN_METHOD:
            let returned = decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            return .returned(
                .returned(
                    replyCode: returned.reply_code, replyText: string(returned.reply_text),
                    exchange: string(returned.exchange), routingKey: string(returned.routing_key)))
        case BG_AMQP_BASIC_ACK_METHOD:
            let ack = decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .confirm(tag: ack.delivery_tag, multiple: ack.multiple != 0, nack: false)
        case BG_AMQP_BASIC_NACK_METHOD:
            let nack = decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .confirm(tag: nack.delivery_tag, multiple: nack.multiple != 0, nack: true)
        case BG_AMQP_BASIC_CANCEL_METHOD:
            let cancel = decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            return .consumerCancelled(tag: string(cancel.consumer_tag))
        case BG_AMQP_CONNECTION_BLOCKED_METHOD:
            return .blocked
        case BG_AMQP_CONNECTION_UNBLOCKED_METHOD:
            return .unblocked
        default:
            return closeReply(method).map { .close($0) } ?? .other
        }
    }
}
