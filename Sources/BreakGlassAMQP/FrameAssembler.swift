/// Assembles content per channel: a `basic.deliver` or `basic.return` method frame, then a content header
/// (properties and body size), then body frames until the body is complete. Channels are independent, so
/// contents on different channels may interleave.
///
/// Pure: the I/O thread hands it what it decoded from each frame; tested alone.
struct FrameAssembler {
    /// The method that starts a content.
    enum Start: Sendable, Equatable {
        case delivery(consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
        case returned(replyCode: UInt16, replyText: String, exchange: String, routingKey: String)
    }

    /// A complete content.
    struct Content: Sendable {
        var start: Start
        var properties: AMQPProperties
        var body: [UInt8]
    }

    /// Capacity reserved up front for a body at most; larger bodies grow as their frames arrive, so a header that
    /// announces an absurd size cannot make the thread allocate it before a single byte came.
    static let maximumReservation = 4 << 20

    private struct Partial {
        var start: Start
        /// -1 until the content header arrived.
        var bodySize: Int = -1
        var properties = AMQPProperties()
        var body: [UInt8] = []
    }

    private var partials: [UInt16: Partial] = [:]

    init() {}

    /// Whether a content is being assembled on `channel`.
    func isAssembling(channel: UInt16) -> Bool { partials[channel] != nil }

    /// A `basic.deliver` / `basic.return` arrived on `channel`; a content left unfinished there is dropped.
    mutating func begin(_ start: Start, channel: UInt16) {
        partials[channel] = Partial(start: start)
    }

    /// The content header: returns the content when its body is empty.
    mutating func header(channel: UInt16, bodySize: UInt64, properties: AMQPProperties) throws(AMQPError) -> Content? {
        guard var partial = partials[channel] else {
            throw AMQPError.protocolError("content header without a method")
        }
        guard let size = Int(exactly: bodySize) else {
            partials[channel] = nil
            throw AMQPError.protocolError("content body size out of range")
        }
        partial.bodySize = size
        partial.properties = properties
        partial.body.reserveCapacity(min(size, Self.maximumReservation))
        if size == 0 {
            partials[channel] = nil
            return Content(start: partial.start, properties: partial.properties, body: [])
        }
        partials[channel] = partial
        return nil
    }

    /// A body frame: returns the content once the body has (at least) the announced size.
    mutating func body(channel: UInt16, fragment: UnsafeRawBufferPointer) throws(AMQPError) -> Content? {
        guard partials[channel].map({ $0.bodySize >= 0 }) == true else {
            throw AMQPError.protocolError("content body without a header")
        }
        if !fragment.isEmpty { partials[channel]!.body.append(contentsOf: fragment) }
        guard partials[channel]!.body.count >= partials[channel]!.bodySize else { return nil }
        let partial = partials.removeValue(forKey: channel)!
        return Content(start: partial.start, properties: partial.properties, body: partial.body)
    }

    /// Drops every unfinished content (the connection is gone).
    mutating func reset() {
        partials.removeAll()
    }
}
