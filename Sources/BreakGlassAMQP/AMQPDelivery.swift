/// One message delivered to a consumer. Settle it exactly once with `ack()`, `nack(requeue:)` or `reject(requeue:)`.
///
/// A delivery belongs to the connection `generation` it arrived on: after a reconnect its delivery tag means
/// nothing (the broker has already requeued it), so settling it throws `AMQPError.Code.staleDelivery` and
/// nothing is sent on the new connection.
public struct AMQPDelivery: Sendable {
    public let body: [UInt8]
    public let properties: AMQPProperties
    public let exchange: String
    public let routingKey: String
    public let consumerTag: String
    public let deliveryTag: UInt64
    public let redelivered: Bool
    /// The connection generation (1 for the first connection, +1 per reconnect).
    public let generation: UInt64
    let settler: AMQPSettler

    init(
        body: [UInt8], properties: AMQPProperties, exchange: String, routingKey: String, consumerTag: String,
        deliveryTag: UInt64, redelivered: Bool, generation: UInt64, settler: AMQPSettler
    ) {
        self.body = body
        self.properties = properties
        self.exchange = exchange
        self.routingKey = routingKey
        self.consumerTag = consumerTag
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.generation = generation
        self.settler = settler
    }

    /// The message headers.
    public var headers: [String: AMQPFieldValue] { properties.headers }

    /// `x-delivery-count` set by quorum queues on redelivery (absent on the first delivery).
    public var deliveryCount: Int64? { properties.headers["x-delivery-count"]?.intValue }

    /// The `x-breakglass-signature` header (contract §3), if present and a string.
    public var signature: String? { properties.headers["x-breakglass-signature"]?.stringValue }

    /// Acknowledges the delivery. Throws `staleDelivery` if the connection it came from is gone.
    public func ack() throws { try settler.settle(tag: deliveryTag, generation: generation, kind: .ack) }

    /// Negatively acknowledges; `requeue: false` dead-letters it (if the queue has a dead-letter exchange).
    public func nack(requeue: Bool) throws {
        try settler.settle(tag: deliveryTag, generation: generation, kind: .nack(requeue: requeue))
    }

    /// Rejects the delivery (`basic.reject`).
    public func reject(requeue: Bool) throws {
        try settler.settle(tag: deliveryTag, generation: generation, kind: .reject(requeue: requeue))
    }
}

/// How a delivery is settled.
enum AMQPSettlement: Sendable, Equatable {
    case ack
    case nack(requeue: Bool)
    case reject(requeue: Bool)
}

/// What a delivery needs to settle itself: the connection's command inbox and current generation.
protocol AMQPSettling: AnyObject, Sendable {
    func settle(tag: UInt64, generation: UInt64, kind: AMQPSettlement) throws
}

/// Type-erased reference to the owning connection core.
struct AMQPSettler: Sendable {
    let target: any AMQPSettling
    func settle(tag: UInt64, generation: UInt64, kind: AMQPSettlement) throws {
        try target.settle(tag: tag, generation: generation, kind: kind)
    }
}
