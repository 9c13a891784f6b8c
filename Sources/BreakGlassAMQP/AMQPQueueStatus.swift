/// Message and consumer counts of a queue (from a passive `queue.declare`).
public struct AMQPQueueStatus: Sendable, Equatable {
    public var messageCount: UInt32
    public var consumerCount: UInt32
}
