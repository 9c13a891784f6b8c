/// One delivery as the pipeline sees it, independent of the transport.
public struct InboundMessage: Sendable {
    public var body: [UInt8]
    /// The `x-breakglass-signature` header, if present.
    public var signatureHeader: String?
    /// AMQP `message_id` (= the request id for well-formed producers); informational only.
    public var messageID: String?
    public var redelivered: Bool
    /// The quorum queue's `x-delivery-count` (deliveries before this one), if present.
    public var deliveryCount: Int?
    /// The transport's headers nested deeper than it copies (a poison message): rejected as `SCHEMA_INVALID` once
    /// the signature has been checked.
    public var headersTooDeep: Bool
    /// The message's W3C trace context (`traceparent`/`tracestate` headers), when valid (contract 1.1).
    public var trace: TraceContext?

    public init(
        body: [UInt8], signatureHeader: String?, messageID: String? = nil, redelivered: Bool = false,
        deliveryCount: Int? = nil,
        headersTooDeep: Bool = false, trace: TraceContext? = nil
    ) {
        self.headersTooDeep = headersTooDeep
        self.trace = trace
        self.body = body
        self.signatureHeader = signatureHeader
        self.messageID = messageID
        self.redelivered = redelivered
        self.deliveryCount = deliveryCount
    }
}

/// What to do with the delivery once the pipeline's decision is durable.
public enum Settlement: String, Sendable, Hashable {
    /// Done (decided, a duplicate of a decided key, or in progress elsewhere).
    case ack
    /// Rejected: `basic.reject` without requeue, so the quorum queue dead-letters it to `breakglass.dead`.
    case deadLetter
    /// Could not be recorded (the ledger failed): put it back for a later attempt.
    case requeue
}

/// The pipeline's answer for one delivery.
public struct PipelineResult: Sendable, Hashable {
    public enum Result: String, Sendable, Hashable {
        case granted, halted, rejected
        /// The key was decided before: nothing touched the sources or the console.
        case duplicate
        /// A live worker owns the key right now.
        case inProgress = "in-progress"
        /// Nothing could be recorded; the delivery is requeued.
        case failed
    }

    public var settlement: Settlement
    public var result: Result
    public var key: RestorationKey?
    public var reasons: [ReasonCode]
    /// A halt after which access may have been granted (its takeover record escalates): a person must act at once.
    public var escalated: Bool

    public init(
        settlement: Settlement, result: Result, key: RestorationKey?, reasons: [ReasonCode] = [],
        escalated: Bool = false
    ) {
        self.settlement = settlement
        self.result = result
        self.key = key
        self.reasons = reasons
        self.escalated = escalated
    }
}

public import BreakGlassCore
