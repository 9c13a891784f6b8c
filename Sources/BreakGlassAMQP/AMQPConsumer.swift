/// Deliveries of one consumer as an `AsyncSequence`. The sequence survives reconnects (the consumer is
/// re-registered on the new connection); it ends with `AMQPError.Code.consumerCancelled` when the broker
/// cancels the consumer, and normally after `cancel()` or when the connection is closed.
public struct AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery
    public typealias Failure = any Error

    /// The consumer tag on the broker.
    public let tag: String
    public let queue: String
    let stream: AsyncThrowingStream<AMQPDelivery, any Error>
    let canceller: @Sendable () -> Void

    /// Stops the consumer (`basic.cancel`). Unsettled deliveries go back to the queue when the connection or
    /// channel ends, or can still be settled while the connection lives.
    public func cancel() { canceller() }

    public func makeAsyncIterator() -> AsyncThrowingStream<AMQPDelivery, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }
}
