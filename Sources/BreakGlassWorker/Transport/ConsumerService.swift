public import BreakGlassAMQP
import BreakGlassCore
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Consumes the request queue and runs each delivery through the pipeline, `inFlight` at a time (the broker's
/// prefetch is matched to it, so no more than that are ever handed to this worker). A delivery is settled only
/// after the pipeline returned, i.e. after its decision is durable.
///
/// Graceful shutdown (SIGTERM/SIGINT): stop consuming at once, let in-flight requests finish within
/// `drainTimeout`, then cancel them — the console driver halts a cancelled flow safely, with a takeover record.
/// Unsettled deliveries go back to the queue when the connection closes.
public struct ConsumerService: Service {
    public struct Configuration: Sendable {
        /// The request queue. Default `breakglass.restorations`.
        public var queue: String = "breakglass.restorations"
        /// Requests processed at once; also the basic.qos prefetch. Default 2.
        public var inFlight: Int = 2
        /// How long in-flight requests may finish after a shutdown signal. Default 30 s.
        public var drainTimeout: Duration = .seconds(30)
        /// Pause before requeueing a delivery whose outcome could not be recorded (no hot loop). Default 1 s.
        public var requeueDelay: Duration = .seconds(1)

        public init() {}
    }

    let connection: AMQPConnection
    let pipeline: RestorationPipeline
    let configuration: Configuration
    let metrics: WorkerMetrics
    let logger: Logger
    let inFlight = InFlightCounter()

    public init(connection: AMQPConnection, pipeline: RestorationPipeline, configuration: Configuration,
                metrics: WorkerMetrics = WorkerMetrics(), logger: Logger) {
        self.connection = connection
        self.pipeline = pipeline
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Requests being processed right now.
    public var currentInFlight: Int { inFlight.value }

    public func run() async throws {
        try await connection.waitUntilReady(timeout: .seconds(3600))
        let consumer = try await connection.consume(
            queue: configuration.queue, prefetch: UInt16(clamping: configuration.inFlight))
        logger.info("consuming", metadata: ["breakglass.queue": "\(configuration.queue)", "breakglass.in_flight": "\(configuration.inFlight)"])
        let drainTimeout = configuration.drainTimeout
        try await withThrowingTaskGroup(of: Void.self) { outer in
            // The drain deadline: armed by the shutdown signal, fires only if in-flight work outlives it.
            outer.addTask {
                try await gracefulShutdown()
                try await Task.sleep(for: drainTimeout)
                throw DrainDeadline()
            }
            outer.addTask {
                await withGracefulShutdownHandler {
                    await withDiscardingTaskGroup { group in
                        do {
                            for try await delivery in consumer {
                                group.addTask { await self.handle(delivery) }
                            }
                        } catch {
                            logger.warning("consumer ended", metadata: ["breakglass.error": "\(error)"])
                        }
                    }
                } onGracefulShutdown: {
                    consumer.cancel()
                }
            }
            do {
                // The first child to finish: the work (drained) or the deadline (cancel the rest).
                try await outer.next()
            } catch is DrainDeadline {
                logger.warning("drain deadline passed; halting in-flight requests safely")
            } catch is CancellationError {
            }
            outer.cancelAll()
            while (try? await outer.next()) != nil {}
        }
        logger.info("consumer stopped")
    }

    func handle(_ delivery: AMQPDelivery) async {
        metrics.inFlight(inFlight.add(1))
        defer { metrics.inFlight(inFlight.add(-1)) }
        let message = InboundMessage(
            body: delivery.body, signatureHeader: delivery.signature, messageID: delivery.properties.messageID,
            redelivered: delivery.redelivered, deliveryCount: delivery.deliveryCount.map { Int(clamping: $0) })
        let result = await pipeline.process(message)
        do {
            switch result.settlement {
            case .ack:
                try delivery.ack()
                CrashPoint.reach(.afterAck)
            case .deadLetter:
                try delivery.reject(requeue: false)
            case .requeue:
                try? await Task.sleep(for: configuration.requeueDelay)
                try delivery.nack(requeue: true)
            }
        } catch {
            // The connection that carried it is gone: the broker redelivers it and the ledger answers the copy.
            logger.notice("could not settle a delivery; the broker will redeliver it", metadata: ["breakglass.error": "\(error)"])
        }
    }

    struct DrainDeadline: Error {}
}

/// A small atomic counter of in-flight requests.
final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add(_ delta: Int) -> Int { count.add(delta, ordering: .relaxed).newValue }
}
