/// The `basic` content properties of a message (those BreakGlass uses; absent ones are nil).
public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    public var contentEncoding: String?
    public var headers: [String: AMQPFieldValue]
    /// True when the received headers nested tables or arrays deeper than the worker copies (16 levels): the
    /// deeper values read as `.void`. Such a message is rejected, never trusted.
    public var headersTooDeep: Bool = false
    /// 2 = persistent, 1 = transient.
    public var deliveryMode: UInt8?
    public var priority: UInt8?
    public var correlationID: String?
    public var replyTo: String?
    public var expiration: String?
    public var messageID: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    public var type: String?
    public var userID: String?
    public var appID: String?

    public init(
        contentType: String? = nil, contentEncoding: String? = nil, headers: [String: AMQPFieldValue] = [:],
        deliveryMode: UInt8? = nil, priority: UInt8? = nil, correlationID: String? = nil,
        replyTo: String? = nil, expiration: String? = nil, messageID: String? = nil,
        timestamp: UInt64? = nil, type: String? = nil, userID: String? = nil, appID: String? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.userID = userID
        self.appID = appID
    }

    /// Persistent (`delivery_mode` 2) properties, the default for everything BreakGlass publishes.
    public static func persistent(
        contentType: String? = "application/json", messageID: String? = nil,
        headers: [String: AMQPFieldValue] = [:]
    ) -> AMQPProperties {
        AMQPProperties(contentType: contentType, headers: headers, deliveryMode: 2, messageID: messageID)
    }
}
