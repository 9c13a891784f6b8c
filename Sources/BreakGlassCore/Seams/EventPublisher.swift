public import Foundation

/// An already-encoded event as the outbox stores it and the relay hands it to the transport.
public struct OutboxMessage: Sendable, Hashable {
    /// The event's deterministic id (CloudEvents `id`): the same logical event always carries the same id.
    public var eventID: String
    /// AMQP routing key = the event's `type`.
    public var routingKey: String
    /// The encoded event (structured CloudEvents JSON).
    public var body: Data
    public var contentType: String
    /// The restoration the event belongs to; the relay keeps events in order per key.
    public var key: RestorationKey

    public static let cloudEventsContentType = "application/cloudevents+json"

    public init(
        eventID: String, routingKey: String, body: Data, contentType: String = OutboxMessage.cloudEventsContentType,
        key: RestorationKey
    ) {
        self.eventID = eventID
        self.routingKey = routingKey
        self.body = body
        self.contentType = contentType
        self.key = key
    }
}

/// Publishes one event durably: returns only once the broker confirmed it (publisher confirms), throws otherwise.
///
/// The outbox relay marks a message published only after `publish` returned.
public protocol EventPublisher: Sendable {
    func publish(_ message: OutboxMessage) async throws
}
