public import BreakGlassAMQP
public import BreakGlassCore

/// The outbox relay's transport: publishes an event to the event exchange, persistent, `mandatory`, with
/// publisher confirms; returns only once the broker confirmed it (contract §5).
///
/// While the connection is not ready (reconnecting after an outage, blocked by the broker, closed) a publish fails
/// at once instead of waiting up to the connection's publish timeout: the relay backs off and tries again, and a
/// shutdown's final flush ends within its own deadline even when the broker is down.
public struct AMQPEventPublisher: EventPublisher {
    public let connection: AMQPConnection
    public let exchange: String

    public init(connection: AMQPConnection, exchange: String) {
        self.connection = connection
        self.exchange = exchange
    }

    public func publish(_ message: OutboxMessage) async throws {
        guard case .ready = connection.state else { throw AMQPError.notConnected() }
        let properties = AMQPProperties(
            contentType: message.contentType,
            deliveryMode: 2,
            messageID: message.eventID,
            type: message.routingKey,
            appID: "breakglass"
        )
        try await connection.publish(
            AMQPMessage(body: Array(message.body), properties: properties),
            exchange: exchange,
            routingKey: message.routingKey,
            mandatory: true
        )
    }
}
