import BreakGlassAMQP
import Foundation
import Testing
#if canImport(Glibc)
    import Glibc
#endif

/// The AMQP transport against a real RabbitMQ. Serialized: some tests stop or freeze the shared broker
/// (and always leave it running again).
@Suite(.serialized, .enabled(if: TestEnvironment.hasRabbitMQ, Comment(rawValue: TestEnvironment.skipHint)))
struct AMQPTransportTests {
    @Test func roundTripCarriesBodyPropertiesAndHeaders() async throws {
        let connection = try await AMQPTestSupport.connect(AMQPTestSupport.configuration())
        let queue = AMQPTestSupport.uniqueName("roundtrip")
        try await connection.declare([.queue(name: queue)])
        let message = AMQPTestSupport.message(
            "{\"hello\":1}", id: "REQ-1",
            headers: [
                "x-breakglass-signature": "ed25519;key=k1;sig=AAAA",
                "x-number": 42,
            ])
        try await connection.publish(message, exchange: "", routingKey: queue)

        let consumer = try await connection.consume(queue: queue, prefetch: 10)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        #expect(delivery.body == Array("{\"hello\":1}".utf8))
        #expect(delivery.properties.messageID == "REQ-1")
        #expect(delivery.properties.contentType == "application/json")
        #expect(delivery.properties.deliveryMode == 2)
        #expect(delivery.signature == "ed25519;key=k1;sig=AAAA")
        #expect(delivery.headers["x-number"] == .int(42))
        #expect(delivery.redelivered == false)
        #expect(delivery.routingKey == queue)
        try delivery.ack()
        #expect(try await TestEnvironment.waitUntil { try await connection.queueStatus(queue).messageCount == 0 })
        consumer.cancel()
        try await connection.deleteQueue(queue)
        await connection.close()
        #expect(connection.state == .closed)
    }

    @Test func unackedDeliveriesComeBackAfterTheConsumerConnectionDrops() async throws {
        let configuration = try AMQPTestSupport.configuration()
        let first = try await AMQPTestSupport.connect(configuration)
        let queue = AMQPTestSupport.uniqueName("unacked")
        try await first.declare([.queue(name: queue)])
        for index in 0..<5 {
            try await first.publish(AMQPTestSupport.message("m\(index)"), exchange: "", routingKey: queue)
        }

        var received: [AMQPDelivery] = []
        for try await delivery in try await first.consume(queue: queue, prefetch: 10) {
            received.append(delivery)
            if received.count == 5 { break }
        }
        #expect(received.allSatisfy { !$0.redelivered })
        await first.close()
        // A delivery of the dropped connection can no longer be settled (and nothing is sent anywhere).
        #expect(throws: AMQPError.self) { try received[0].ack() }

        let second = try await AMQPTestSupport.connect(configuration)
        var again: [String] = []
        for try await delivery in try await second.consume(queue: queue, prefetch: 10) {
            #expect(delivery.redelivered)
            again.append(String(decoding: delivery.body, as: UTF8.self))
            try delivery.ack()
            if again.count == 5 { break }
        }
        #expect(Set(again) == Set((0..<5).map { "m\($0)" }))
        try await second.deleteQueue(queue)
        await second.close()
    }

    @Test func confirmForRoutedPublishAndFailureForUnroutableMandatoryPublish() async throws {
        let connection = try await AMQPTestSupport.connect(AMQPTestSupport.configuration())
        let queue = AMQPTestSupport.uniqueName("confirm")
        try await connection.declare([
            .queue(name: queue), .binding(queue: queue, exchange: "amq.direct", routingKey: queue),
        ])
        try await connection.publish(AMQPTestSupport.message("routed"), exchange: "amq.direct", routingKey: queue)
        #expect(try await connection.queueStatus(queue).messageCount == 1)

        let unroutable = AMQPTestSupport.uniqueName("nowhere")
        do {
            try await connection.publish(
                AMQPTestSupport.message("lost"), exchange: "amq.direct", routingKey: unroutable)
            Issue.record("an unroutable mandatory publish must fail")
        } catch let error as AMQPError {
            #expect(error.code == .publishReturned)
            #expect(error.replyCode == 312)
        }
        // Many publishes in flight at once all resolve, and the connection is still usable.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<500 {
                group.addTask {
                    try await connection.publish(
                        AMQPTestSupport.message("p\(index)"), exchange: "amq.direct", routingKey: queue)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await connection.queueStatus(queue).messageCount == 501)
        // A conflicting declaration is refused without breaking the connection.
        await #expect(throws: AMQPError.self) {
            try await connection.declare([.queue(name: queue, arguments: ["x-max-length": 1])])
        }
        #expect(try await connection.queueStatus(queue).messageCount == 501)
        try await connection.deleteQueue(queue)
        await connection.close()
    }

    @Test func contractTopologyIsIdempotentAndKeepsUnroutableEvents() async throws {
        let connection = try await AMQPTestSupport.connect(AMQPTestSupport.configuration())
        let prefix = AMQPTestSupport.uniqueName("topo")
        var names = AMQPTopology.Configuration()
        names.requestExchange = "\(prefix).requests"
        names.requestQueue = "\(prefix).restorations"
        names.deadLetterExchange = "\(prefix).dead"
        names.deadLetterQueue = "\(prefix).dead"
        names.eventExchange = "\(prefix).events"
        names.unroutedEventExchange = "\(prefix).events.unrouted"
        names.unroutedEventQueue = "\(prefix).events.unrouted"
        let topology = AMQPTopology(configuration: names)
        try await connection.declare(topology)
        try await connection.declare(topology)  // idempotent

        try await connection.publish(
            AMQPTestSupport.message("{}", id: "REQ-9"), exchange: names.requestExchange,
            routingKey: names.requestRoutingKey)
        #expect(try await connection.queueStatus(names.requestQueue).messageCount == 1)
        // No queue is bound to the event exchange: the event lands in the alternate exchange's queue.
        try await connection.publish(
            AMQPTestSupport.message("{}"), exchange: names.eventExchange,
            routingKey: "breakglass.restoration.outcome")
        #expect(try await connection.queueStatus(names.unroutedEventQueue).messageCount == 1)
        // Rejecting without requeue dead-letters the request.
        let consumer = try await connection.consume(queue: names.requestQueue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        try delivery.reject(requeue: false)
        #expect(
            try await TestEnvironment.waitUntil {
                try await connection.queueStatus(names.deadLetterQueue).messageCount == 1
            })
        consumer.cancel()
        for queue in [names.requestQueue, names.deadLetterQueue, names.unroutedEventQueue] {
            try await connection.deleteQueue(queue)
        }
        await connection.close()
    }

    @Test func brokerCancellationEndsTheConsumerWithAnError() async throws {
        let connection = try await AMQPTestSupport.connect(AMQPTestSupport.configuration())
        let queue = AMQPTestSupport.uniqueName("cancelled")
        try await connection.declare([.queue(name: queue, durable: false)])
        let consumer = try await connection.consume(queue: queue, prefetch: 1)
        let other = try await AMQPTestSupport.connect(AMQPTestSupport.configuration())
        try await other.deleteQueue(queue)
        do {
            for try await _ in consumer { Issue.record("no delivery expected") }
            Issue.record("the consumer must end with an error")
        } catch let error as AMQPError {
            #expect(error.code == .consumerCancelled)
        }
        #expect(connection.state == .ready)
        await other.close()
        await connection.close()
    }

    @Test func consumerRecoversFromBrokerRestartWithNothingLost() async throws {
        let configuration = try AMQPTestSupport.configuration(heartbeat: .seconds(5))
        let connection = try await AMQPTestSupport.connect(configuration)
        let queue = AMQPTestSupport.uniqueName("restart")
        try await connection.declare([.queue(name: queue)])
        let total = 300
        for index in 0..<total {
            try await connection.publish(
                AMQPTestSupport.message("\(index)", id: "\(index)"), exchange: "", routingKey: queue)
        }
        var acked = Set<String>()
        var generations = Set<UInt64>()
        var restarted = false
        var brokerStopped = false
        defer { if brokerStopped { try? AMQPTestSupport.startSharedBroker() } }
        consumeLoop: for try await delivery in try await connection.consume(queue: queue, prefetch: 20) {
            generations.insert(delivery.generation)
            do {
                try delivery.ack()
                acked.insert(delivery.properties.messageID ?? "")
            } catch let error as AMQPError where error.code == .staleDelivery {
                // From the connection that died: the broker redelivers it.
            }
            if acked.count == 50, !restarted {
                restarted = true
                brokerStopped = true
                try TestEnvironment.rabbitMQNode("stop")
                #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) { !connection.state.isReady })
                try AMQPTestSupport.startSharedBroker()
                brokerStopped = false
            }
            if acked.count == total { break consumeLoop }
        }
        #expect(acked.count == total)
        #expect(generations.count >= 2)
        #expect(try await TestEnvironment.waitUntil { try await connection.queueStatus(queue).messageCount == 0 })
        try await connection.deleteQueue(queue)
        await connection.close()
    }

    @Test func heartbeatsAreServicedWhileTheApplicationHoldsADelivery() async throws {
        let heartbeat = Duration.seconds(2)
        let connection = try await AMQPTestSupport.connect(AMQPTestSupport.configuration(heartbeat: heartbeat))
        let queue = AMQPTestSupport.uniqueName("busy")
        try await connection.declare([.queue(name: queue, durable: false)])
        try await connection.publish(AMQPTestSupport.message("slow work"), exchange: "", routingKey: queue)
        let states = connection.stateUpdates()
        let consumer = try await connection.consume(queue: queue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        // The application is busy for 3x the heartbeat interval without touching the connection: the behaviour
        // under test is that nothing happens meanwhile (the connection thread keeps the heartbeats going).
        try await Task.sleep(for: heartbeat * 3)
        #expect(connection.state == .ready)
        try delivery.ack()
        #expect(try await TestEnvironment.waitUntil { try await connection.queueStatus(queue).messageCount == 0 })
        consumer.cancel()
        try await connection.deleteQueue(queue)
        await connection.close()
        var seen: [AMQPConnectionState] = []
        for await state in states { seen.append(state) }
        #expect(!seen.contains { if case .reconnecting = $0 { return true } else { return false } })
    }

    @Test func frozenBrokerIsNoticedWithinTwoHeartbeatsAndConnectionResumes() async throws {
        let heartbeat = Duration.seconds(2)
        let connection = try await AMQPTestSupport.connect(AMQPTestSupport.configuration(heartbeat: heartbeat))
        let queue = AMQPTestSupport.uniqueName("frozen")
        try await connection.declare([.queue(name: queue)])
        let pidText = try TestEnvironment.rabbitMQNode("pid")
        let pid = try #require(pid_t(pidText))
        let clock = ContinuousClock()
        let stoppedAt = clock.now
        #expect(kill(pid, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(pid, SIGCONT) } }
        let noticed = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            if case .reconnecting(_, .heartbeatTimeout) = connection.state { return true }
            return false
        }
        let elapsed = clock.now - stoppedAt
        kill(pid, SIGCONT)
        resumed = true
        #expect(noticed)
        // Bound, not synchronisation: detection must happen within 2x heartbeat (+ scheduling slack).
        #expect(elapsed <= heartbeat * 2 + .seconds(1))
        try await connection.waitUntilReady(timeout: .seconds(60))
        try await connection.publish(AMQPTestSupport.message("after"), exchange: "", routingKey: queue)
        #expect(try await connection.queueStatus(queue).messageCount == 1)
        try await connection.deleteQueue(queue)
        await connection.close()
    }
}
