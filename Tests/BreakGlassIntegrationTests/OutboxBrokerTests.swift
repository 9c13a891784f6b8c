import BreakGlassAMQP
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Testing
import BreakGlassEvidence

/// The outbox relay against the real broker: events decided while the broker is down are kept, retried with
/// backoff, and published (with confirms, ids unchanged, in order) once it is back.
@Suite("Outbox relay over RabbitMQ", .serialized)
struct OutboxBrokerTests {
    @Test(
        "a broker outage loses no event: published in order with the same ids once it is back",
        .enabled(if: TestEnvironment.hasRabbitMQ, .init(rawValue: TestEnvironment.skipHint)))
    func relayThroughABrokerOutage() async throws {
        let url = try #require(TestEnvironment.amqpURL)
        let dir = try TestEnvironment.scratchDirectory("outbox-broker")
        let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
        let queue = "test.outbox.\(UUID().uuidString.prefix(8))"
        var configuration = try AMQPConnection.Configuration(url: url)
        configuration.heartbeat = .seconds(2)
        configuration.reconnect.maximumDelay = .seconds(1)
        // A durable queue bound to every event type, so it survives the broker restart.
        configuration.topology =
            AMQPTopology().declarations + [
                .queue(name: queue),
                .binding(queue: queue, exchange: "breakglass.events", routingKey: "breakglass.restoration.#"),
            ]
        let connection = try AMQPConnection(configuration: configuration)
        connection.start()
        try await connection.waitUntilReady(timeout: .seconds(30))

        let factory = EventFactory(source: "urn:breakglass:test")
        let key = RestorationKey(caseID: "CASE-OUTAGE", tenantID: "tnt-outage")
        let now = Date()
        let events = (0..<5).map { attempt in
            OutboxMessage(
                factory.halted(
                    key: key, requestID: "REQ-OUTAGE", attempt: attempt, stage: .gate,
                    reasons: [.sourceUnavailable], escalate: false, takeoverID: "T-\(attempt)", time: now), key: key)
        }

        try TestEnvironment.rabbitMQNode("stop")
        var restarted = false
        defer { if !restarted { _ = try? TestEnvironment.rabbitMQNode("start") } }
        try await ledger.enqueueEvents(events)

        var relayConfiguration = OutboxRelay.Configuration(owner: "outage-test")
        relayConfiguration.maximumBackoff = .seconds(1)
        let relay = OutboxRelay(
            ledger: ledger, publisher: AMQPEventPublisher(connection: connection, exchange: "breakglass.events"),
            configuration: relayConfiguration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relay.run() }
            // While the broker is down the connection is reconnecting, the relay's publishes wait (or fail and
            // back off), and every event stays in the outbox.
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(30)) {
                    if case .reconnecting = connection.state { return true }
                    return false
                })
            #expect(try ledger.pendingEvents().count == 5)
            try TestEnvironment.rabbitMQNode("start")
            restarted = true
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(90)) { try ledger.pendingEvents().isEmpty })
            group.cancelAll()
        }

        try await connection.waitUntilReady(timeout: .seconds(30))
        let consumer = try await connection.consume(queue: queue, prefetch: 10)
        var received: [String] = []
        for try await delivery in consumer {
            received.append(delivery.properties.messageID ?? "")
            try delivery.ack()
            if received.count == events.count { break }
        }
        consumer.cancel()
        #expect(received == events.map(\.eventID), "every event once, in order, with its deterministic id")
        try await connection.deleteQueue(queue)
        await connection.close()
    }
}
