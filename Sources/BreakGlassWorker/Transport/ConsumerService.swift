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
        /// First pause before running a delivery again whose outcome could not be recorded; it doubles up to
        /// `retryCeiling`. Default 1 s.
        public var requeueDelay: Duration = .seconds(1)
        /// The longest pause between two attempts of a held delivery. Default 30 s.
        public var retryCeiling: Duration = .seconds(30)

        public init() {}
    }

    let connection: AMQPConnection
    let pipeline: RestorationPipeline
    let configuration: Configuration
    let metrics: WorkerMetrics
    let logger: Logger
    let inFlight = InFlightCounter()

    public init(
        connection: AMQPConnection, pipeline: RestorationPipeline, configuration: Configuration,
        metrics: WorkerMetrics = WorkerMetrics(), logger: Logger
    ) {
        self.connection = connection
        self.pipeline = pipeline
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Requests being processed right now.
    public var currentInFlight: Int { inFlight.value }

    public func run() async throws {
        // A worker that never reached the broker (wrong password, closed port, a queue-argument mismatch) must
        // still stop on SIGTERM/SIGINT: the wait ends with the graceful shutdown.
        do {
            try await cancelWhenGracefulShutdown {
                try await connection.waitUntilReady(timeout: .seconds(3600))
            }
        } catch {
            if Task.isShuttingDownGracefully || Task.isCancelled {
                logger.notice("shutdown before the broker was ready; nothing was consumed")
                return
            }
            throw error
        }
        if Task.isShuttingDownGracefully { return }
        let consumer = try await connection.consume(
            queue: configuration.queue, prefetch: UInt16(clamping: configuration.inFlight))
        logger.info(
            "consuming",
            metadata: [
                "breakglass.queue": "\(configuration.queue)",
                "breakglass.in_flight": .stringConvertible(configuration.inFlight),
            ])
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
                                let message = Self.message(of: delivery)
                                // A copy of a decided key already verified: answered here, without a task.
                                if let known = await pipeline.answerKnownDuplicate(message) {
                                    settle(delivery, known.result.settlement)
                                    if known.sightingsDue { group.addTask { await self.pipeline.writeSightings() } }
                                    continue
                                }
                                group.addTask { await self.handle(delivery, message) }
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
        // Duplicates' sightings still counted in memory (they are written in batches).
        await pipeline.flushSightings()
        logger.info("consumer stopped")
    }

    static func message(of delivery: AMQPDelivery) -> InboundMessage {
        InboundMessage(
            body: delivery.body, signatureHeader: delivery.signature, messageID: delivery.properties.messageID,
            redelivered: delivery.redelivered, deliveryCount: delivery.deliveryCount.map { Int(clamping: $0) },
            headersTooDeep: delivery.properties.headersTooDeep,
            trace: TraceContext(
                traceparent: delivery.headers["traceparent"]?.stringValue,
                tracestate: delivery.headers["tracestate"]?.stringValue))
    }

    func handle(_ delivery: AMQPDelivery, _ message: InboundMessage) async {
        metrics.inFlight(inFlight.add(1))
        defer { metrics.inFlight(inFlight.add(-1)) }
        var result = await pipeline.process(message)
        // The outcome could not be recorded (the ledger cannot be written: disk full, I/O error, locked). Requeueing
        // would burn the delivery's count until the broker dead-letters an approved request for the worker's own
        // outage; instead the delivery is held (its prefetch slot stays taken, so no new deliveries arrive) and run
        // again with backoff until the ledger takes it, or until shutdown gives it back.
        var attempt = 0
        while result.settlement == .requeue, !Task.isCancelled, !Task.isShuttingDownGracefully {
            attempt += 1
            let delay = min(configuration.retryCeiling, configuration.requeueDelay * (1 << min(attempt - 1, 10)))
            logger.warning(
                "holding a delivery whose outcome could not be recorded; retrying",
                metadata: [
                    "breakglass.attempt": .stringConvertible(attempt), "breakglass.retry_in": "\(delay)",
                    "breakglass.case_id": "\(result.key?.caseID ?? "-")",
                    "breakglass.tenant_id": "\(result.key?.tenantID ?? "-")",
                ])
            do { try await Task.sleep(for: delay) } catch { break }
            result = await pipeline.process(message)
        }
        if attempt > 0, result.settlement != .requeue {
            logger.notice(
                "a held delivery was recorded after \(attempt) retries",
                metadata: ["breakglass.result": "\(result.result.rawValue)"])
        }
        settle(delivery, result.settlement)
    }

    func settle(_ delivery: AMQPDelivery, _ settlement: Settlement) {
        do {
            switch settlement {
            case .ack:
                try delivery.ack()
                CrashPoint.reach(.afterAck)
            case .deadLetter:
                try delivery.reject(requeue: false)
            case .requeue:
                // Only on shutdown: the next worker (or this one, restarted) gets it.
                try delivery.nack(requeue: true)
            }
        } catch {
            // The connection that carried it is gone: the broker redelivers it and the ledger answers the copy.
            logger.notice(
                "could not settle a delivery; the broker will redeliver it", metadata: ["breakglass.error": "\(error)"])
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
