public import BreakGlassCore
import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Publishes the outbox: every pending event, in order per key, through an `EventPublisher` (publisher
/// confirms); an event is marked published only after `publish` returned. Pending events are republished at
/// start and after failures (with back-off), so an event is never lost; a republished event carries the same id.
///
/// Wakes at once when this process commits events (`Ledger.doorbell`) and polls for other processes' writes.
/// One relay publishes at a time across processes (a lease row in the ledger); the others stand by.
public struct OutboxRelay: Service {
    public struct Configuration: Sendable {
        /// Identifies this relay for the cross-process relay lease.
        public var owner: String
        /// How often to look for events written by other processes. Default 1 s.
        public var pollInterval: Duration = .seconds(1)
        /// Events read per round. Default 200.
        public var batchSize: Int = 200
        /// First delay after a failed publish. Default 200 ms.
        public var initialBackoff: Duration = .milliseconds(200)
        /// Longest delay between attempts while the broker is down. Default 30 s.
        public var maximumBackoff: Duration = .seconds(30)
        /// The relay lease, renewed every round. Default 15 s.
        public var leaseDuration: Duration = .seconds(15)

        public init(owner: String) {
            self.owner = owner
        }
    }

    /// What one round did.
    enum Round: Equatable {
        /// Nothing more pending.
        case drained
        /// A full batch was published: look again at once.
        case more
        /// A publish (or the ledger) failed: back off.
        case failed
        /// Another process's relay holds the lease.
        case standby
    }

    let ledger: any Ledger
    let publisher: any EventPublisher
    let configuration: Configuration
    let logger: Logger
    /// Until when this relay holds the cross-process lease (renewed once half of it has passed).
    let leaseUntil = LeaseMemo()

    final class LeaseMemo: Sendable {
        let until = Mutex<Date?>(nil)
    }

    /// Whether this relay holds the cross-process relay lease now (so exactly one worker per ledger exports the
    /// ledger-wide metrics).
    public var holdsLease: Bool {
        guard let until = leaseUntil.until.withLock({ $0 }) else { return false }
        return until > Date()
    }

    public init(
        ledger: any Ledger, publisher: any EventPublisher, configuration: Configuration,
        logger: Logger = Logger(label: "breakglass.outbox")
    ) {
        self.ledger = ledger
        self.publisher = publisher
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
        await releaseLease()
    }

    func loop() async {
        var backoff = RelayBackoff(initial: configuration.initialBackoff, maximum: configuration.maximumBackoff)
        while !Task.isCancelled {
            switch await round() {
            case .more:
                backoff.reset()
            case .drained, .standby:
                backoff.reset()
                await ledger.doorbell.wait(timeout: configuration.pollInterval)
            case .failed:
                let delay = backoff.nextDelay()
                logger.info(
                    "outbox relay backing off",
                    metadata: [
                        "breakglass.outbox.failures": .stringConvertible(backoff.failures),
                        "breakglass.outbox.delay_ms": "\(Int(delay.ledgerSeconds * 1000))",
                    ])
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Takes or renews the relay lease; skips the write while more than half of the lease is left.
    private func holdLease() async throws -> Bool {
        let now = ledger.clock()
        let half = configuration.leaseDuration.ledgerSeconds / 2
        if let until = leaseUntil.until.withLock({ $0 }), until.timeIntervalSince(now) > half { return true }
        let held = try await ledger.acquireRelayLease(owner: configuration.owner, duration: configuration.leaseDuration)
        leaseUntil.until.withLock {
            $0 = held ? now.addingTimeInterval(configuration.leaseDuration.ledgerSeconds) : nil
        }
        return held
    }

    /// The trace context an event carries (contract 1.1 `traceparent`), for the publish span.
    static func trace(of message: OutboxMessage) -> TraceContext? {
        struct Attributes: Decodable {
            let traceparent: String?
            let tracestate: String?
        }
        guard let attributes = try? JSONDecoder().decode(Attributes.self, from: message.body) else { return nil }
        return TraceContext(traceparent: attributes.traceparent, tracestate: attributes.tracestate)
    }

    /// Publishes up to one batch. A key whose event failed is skipped for the rest of the round (order per key).
    func round() async -> Round {
        let pending: [OutboxEntry]
        do {
            guard try await holdLease() else { return .standby }
            pending = try await ledger.pendingEvents(limit: configuration.batchSize)
        } catch {
            logger.info("outbox relay cannot read the ledger", metadata: ["breakglass.error": "\(error)"])
            return .failed
        }
        if pending.isEmpty { return .drained }
        var blocked = Set<RestorationKey>()
        var published: [Int64] = []
        var failed: [Int64] = []
        for entry in pending {
            if Task.isCancelled { break }
            if blocked.contains(entry.message.key) { continue }
            do {
                // A span "publish" in the request's trace, when tracing is on and the event carries the trace.
                let parent = Spans.recorder == nil ? nil : Self.trace(of: entry.message)
                let publisher = self.publisher
                try await Spans.$parent.withValue(parent) {
                    try await Spans.with(
                        "publish", kind: .producer,
                        attributes: [
                            "messaging.destination.name": .string(entry.message.routingKey),
                            "messaging.message.id": .string(entry.message.eventID),
                        ]
                    ) { _ in try await publisher.publish(entry.message) }
                }
                CrashPoint.reach(.afterPublish)
                published.append(entry.sequence)
            } catch {
                blocked.insert(entry.message.key)
                failed.append(entry.sequence)
                logger.debug(
                    "outbox publish failed",
                    metadata: [
                        "breakglass.event_id": "\(entry.message.eventID)",
                        "breakglass.case_id": "\(entry.message.key.caseID)",
                        "breakglass.tenant_id": "\(entry.message.key.tenantID)",
                        "breakglass.error": "\(error)",
                    ])
            }
        }
        do {
            try await ledger.markPublished(sequences: published)
            for sequence in failed { try await ledger.recordFailedAttempt(sequence: sequence) }
        } catch {
            // Not marked: they stay pending and are published again (same ids); consumers drop the repeats.
            logger.info("outbox relay cannot mark events", metadata: ["breakglass.error": "\(error)"])
            return .failed
        }
        if !failed.isEmpty || Task.isCancelled && published.count < pending.count { return .failed }
        return pending.count == configuration.batchSize ? .more : .drained
    }
}
