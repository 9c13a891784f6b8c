public import Foundation

/// A CloudEvents 1.0 event in structured JSON mode (`application/cloudevents+json`), as the contract (§5) has it.
public struct CloudEvent<Payload: Encodable & Sendable>: Sendable, Encodable {
    public static var contentType: String { "application/cloudevents+json" }

    public let specversion = "1.0"
    public let id: String
    public let source: String
    public let type: EventType
    public let subject: String
    public let time: Date
    public let datacontenttype = "application/json"
    public let data: Payload
    /// Contract 1.1: the CloudEvents distributed-tracing extension, when the request message carried a trace
    /// (`traceparent` with the worker's span id, `tracestate` passed on). Not part of the event's identity.
    public var trace: TraceContext?

    public init(
        id: String, source: String, type: EventType, subject: String, time: Date, data: Payload,
        trace: TraceContext? = nil
    ) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.data = data
        self.trace = trace
    }

    /// The URI of the JSON Schema of `data` (contract 1.1, `EventType.dataSchema`).
    public var dataschema: String { type.dataSchema }

    enum CodingKeys: String, CodingKey {
        case specversion, id, source, type, subject, time, datacontenttype, dataschema, data, traceparent, tracestate
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(specversion, forKey: .specversion)
        try container.encode(id, forKey: .id)
        try container.encode(source, forKey: .source)
        try container.encode(type, forKey: .type)
        try container.encode(subject, forKey: .subject)
        try container.encode(Timestamp.format(time, fractional: true), forKey: .time)
        try container.encode(datacontenttype, forKey: .datacontenttype)
        try container.encode(dataschema, forKey: .dataschema)
        try container.encode(data, forKey: .data)
        if let trace {
            try container.encode(trace.traceparent, forKey: .traceparent)
            try container.encodeIfPresent(trace.state, forKey: .tracestate)
        }
    }

    /// The wire bytes: compact JSON with sorted keys, so the same event always encodes the same way.
    public func encoded() -> Data {
        // Encoding these value types cannot fail: they hold only strings, numbers, booleans and arrays.
        try! SortedJSONEncoder(.compact).encode(self)
    }
}
