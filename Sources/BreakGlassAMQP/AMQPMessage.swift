/// A message to publish: body and properties (persistent by default).
public struct AMQPMessage: Sendable, Equatable {
    public var body: [UInt8]
    public var properties: AMQPProperties

    public init(body: [UInt8], properties: AMQPProperties = .persistent()) {
        self.body = body
        self.properties = properties
    }
}
