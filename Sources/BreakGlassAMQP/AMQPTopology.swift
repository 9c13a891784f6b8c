/// The AMQP objects of contract §1, with every name configurable, as an idempotent list of declarations.
///
/// Defaults: direct durable `breakglass.requests` → quorum queue `breakglass.restorations` (routing key
/// `restoration.approved`, `x-delivery-limit` 10, dead-lettering at-least-once to `breakglass.dead` with
/// `x-overflow` reject-publish); fanout `breakglass.dead` → durable queue `breakglass.dead`; topic
/// `breakglass.events` whose alternate exchange, fanout `breakglass.events.unrouted`, keeps unroutable events in
/// the durable queue `breakglass.events.unrouted`.
public struct AMQPTopology: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        /// Default `breakglass.requests` (direct, durable).
        public var requestExchange = "breakglass.requests"
        /// Default `breakglass.restorations` (quorum, durable).
        public var requestQueue = "breakglass.restorations"
        /// Default `restoration.approved`.
        public var requestRoutingKey = "restoration.approved"
        /// `x-delivery-limit` of the request queue. Default 10.
        public var deliveryLimit: Int64 = 10
        /// Default `breakglass.dead` (fanout, durable).
        public var deadLetterExchange = "breakglass.dead"
        /// Default `breakglass.dead` (durable classic queue).
        public var deadLetterQueue = "breakglass.dead"
        /// Default `breakglass.events` (topic, durable).
        public var eventExchange = "breakglass.events"
        /// Alternate exchange of the event exchange. Default `breakglass.events.unrouted` (fanout, durable).
        public var unroutedEventExchange = "breakglass.events.unrouted"
        /// Queue keeping unroutable events. Default `breakglass.events.unrouted` (durable).
        public var unroutedEventQueue = "breakglass.events.unrouted"

        public init() {}
    }

    /// One idempotent declaration.
    public enum Declaration: Sendable, Equatable, Hashable {
        case exchange(name: String, type: String, durable: Bool = true, arguments: [String: AMQPFieldValue] = [:])
        case queue(
            name: String, durable: Bool = true, exclusive: Bool = false, autoDelete: Bool = false,
            arguments: [String: AMQPFieldValue] = [:])
        case binding(queue: String, exchange: String, routingKey: String)
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Declarations in dependency order (exchanges, then queues, then bindings).
    public var declarations: [Declaration] {
        let c = configuration
        return [
            .exchange(name: c.deadLetterExchange, type: "fanout"),
            .exchange(name: c.requestExchange, type: "direct"),
            .exchange(name: c.unroutedEventExchange, type: "fanout"),
            .exchange(
                name: c.eventExchange, type: "topic",
                arguments: ["alternate-exchange": .string(c.unroutedEventExchange)]),
            .queue(name: c.deadLetterQueue),
            .queue(
                name: c.requestQueue,
                arguments: [
                    "x-queue-type": "quorum",
                    "x-delivery-limit": .int(c.deliveryLimit),
                    "x-dead-letter-exchange": .string(c.deadLetterExchange),
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                ]),
            .queue(name: c.unroutedEventQueue),
            .binding(queue: c.deadLetterQueue, exchange: c.deadLetterExchange, routingKey: ""),
            .binding(queue: c.requestQueue, exchange: c.requestExchange, routingKey: c.requestRoutingKey),
            .binding(queue: c.unroutedEventQueue, exchange: c.unroutedEventExchange, routingKey: ""),
        ]
    }
}
