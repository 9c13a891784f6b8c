import BreakGlassAMQP
import Foundation
import Testing

/// `breakglass dead list|show|replay|purge` against the real broker (issue 20.4): list and show take nothing away,
/// replay republishes the original bytes and signature and only then removes the dead letter, purge removes, and both
/// leave a record of who and why.
@Suite(
    "breakglass dead (the CLI process)", .serialized,
    .enabled(
        if: TestEnvironment.hasRabbitMQ && WorkerProcessTests.binary != nil, Comment(rawValue: TestEnvironment.skipHint)
    ))
struct DeadLetterCommandTests {
    @Test(
        "list leaves every dead letter in place; replay republishes the original bytes then removes it; purge is recorded"
    )
    func listReplayPurge() async throws {
        let suffix = AMQPTestSupport.uniqueName("dead")
        var names = AMQPTopology.Configuration()
        names.requestExchange = suffix + ".requests"
        names.requestQueue = suffix + ".restorations"
        names.deadLetterExchange = suffix + ".dlx"
        names.deadLetterQueue = suffix + ".dead"
        names.eventExchange = suffix + ".events"
        names.unroutedEventExchange = suffix + ".unrouted-x"
        names.unroutedEventQueue = suffix + ".unrouted"
        let amqp = try await AMQPTestSupport.connect(AMQPTestSupport.configuration())
        try await amqp.declare(AMQPTopology(configuration: names))
        for id in ["REQ-DEAD-A", "REQ-DEAD-B"] {
            try await amqp.publish(
                AMQPTestSupport.message(
                    "{\"request_id\":\"\(id)\"}", id: id,
                    headers: ["x-breakglass-signature": .string("ed25519;key=k;sig=\(id)")]),
                exchange: names.requestExchange, routingKey: names.requestRoutingKey)
        }
        let consumer = try await amqp.consume(queue: names.requestQueue, prefetch: 10)
        var iterator = consumer.makeAsyncIterator()
        for _ in 0..<2 { try #require(try await iterator.next()).reject(requeue: false) }
        consumer.cancel()
        #expect(
            try await TestEnvironment.waitUntil { try await amqp.queueStatus(names.deadLetterQueue).messageCount == 2 })

        let dir = try CLISurfaceTests.scratch()
        let environment = [
            "BREAKGLASS_AMQP_URL": TestEnvironment.amqpURL ?? "",
            "BREAKGLASS_LEDGER_PATH": dir.appendingPathComponent("ledger.sqlite").path,
            "BREAKGLASS_AMQP_REQUEST_EXCHANGE": names.requestExchange,
            "BREAKGLASS_AMQP_DEAD_LETTER_QUEUE": names.deadLetterQueue,
        ]
        let list = try await CLISurfaceTests.breakglass(
            ["dead", "list", "--json", "--timeout", "10"], environment: environment)
        #expect(list.status == 0, "\(list.output)")
        let rows = list.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.compactMap { $0["message_id"] as? String }.sorted() == ["REQ-DEAD-A", "REQ-DEAD-B"])
        #expect(rows.allSatisfy { $0["broker_reason"] as? String == "rejected" && $0["signed"] as? Bool == true })
        // Nothing taken away by list.
        #expect(
            try await TestEnvironment.waitUntil { try await amqp.queueStatus(names.deadLetterQueue).messageCount == 2 })

        let missing = try await CLISurfaceTests.breakglass(
            ["dead", "show", "REQ-NOPE", "--timeout", "10"], environment: environment)
        #expect(missing.status == 66, "\(missing.output)")

        let replay = try await CLISurfaceTests.breakglass(
            ["dead", "replay", "REQ-DEAD-A", "--by", "alice", "--reason", "signing key rotated", "--timeout", "10"],
            environment: environment)
        #expect(replay.status == 0, "\(replay.output)")
        #expect(
            try await TestEnvironment.waitUntil { try await amqp.queueStatus(names.deadLetterQueue).messageCount == 1 })
        let again = try await amqp.consume(queue: names.requestQueue, prefetch: 10)
        var replayed = again.makeAsyncIterator()
        let copy = try #require(try await replayed.next())
        #expect(copy.body == Array("{\"request_id\":\"REQ-DEAD-A\"}".utf8))
        #expect(copy.signature == "ed25519;key=k;sig=REQ-DEAD-A")
        #expect(copy.properties.messageID == "REQ-DEAD-A")
        #expect(copy.headers["x-breakglass-replayed-by"]?.stringValue == "alice")
        #expect(copy.headers["x-death"] == nil)
        try copy.ack()
        again.cancel()

        let purge = try await CLISurfaceTests.breakglass(
            ["dead", "purge", "--all", "--by", "bob", "--reason", "test message", "--timeout", "10"],
            environment: environment)
        #expect(purge.status == 0, "\(purge.output)")
        #expect(
            try await TestEnvironment.waitUntil { try await amqp.queueStatus(names.deadLetterQueue).messageCount == 0 })
        let record = dir.appendingPathComponent("dead-letter-actions.jsonl")
        let lines = try String(contentsOf: record, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(
            lines.first?.contains("\"action\":\"replay\"") == true && lines.first?.contains("\"by\":\"alice\"") == true)
        #expect(lines.last?.contains("\"action\":\"purge\"") == true && lines.last?.contains("REQ-DEAD-B") == true)
        let mode = try FileManager.default.attributesOfItem(atPath: record.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        for queue in [names.requestQueue, names.deadLetterQueue, names.unroutedEventQueue] {
            try? await amqp.deleteQueue(queue)
        }
        await amqp.close()
    }
}
