import BreakGlassAMQP
import Foundation
import Testing

/// A real 3-node RabbitMQ cluster of private nodes (issue 17.6): a connection given every node (`amqp.urls`) moves to
/// another node when its own is killed, and a quorum queue replicated to the three loses nothing on the way.
@Suite("AMQP against a 3-node RabbitMQ cluster (real nodes, one killed mid-stream)", .serialized)
struct AMQPClusterTests {
    /// Three private nodes started in a scratch folder and clustered; stopped (all of them) when done.
    struct Cluster {
        let script: String
        let directories: [String]
        let ports: [Int]

        static func start() throws -> Cluster {
            guard let script = TestEnvironment.rabbitMQNodeScript else {
                throw TestEnvironmentError.missing("BREAKGLASS_TEST_RABBITMQ_NODE_SCRIPT")
            }
            let root = try TestEnvironment.scratchDirectory("cluster")
            var directories: [String] = []
            var ports: [Int] = []
            for index in 1...3 {
                var port = AMQPTestSupport.freePort(in: 30_000...31_500)
                while ports.contains(port) { port = AMQPTestSupport.freePort(in: 30_000...31_500) }
                let directory = root.appendingPathComponent("n\(index)").path
                let status = AMQPTestSupport.shell([script, "start", directory, String(port)])
                guard status == 0 else { throw TestEnvironmentError.commandFailed("rabbitmq-node start", status) }
                directories.append(directory)
                ports.append(port)
            }
            let cluster = Cluster(script: script, directories: directories, ports: ports)
            for directory in directories.dropFirst() {
                let status = AMQPTestSupport.shell([script, "join", directory, directories[0]])
                guard status == 0 else {
                    cluster.stop()
                    throw TestEnvironmentError.commandFailed("rabbitmq-node join", status)
                }
            }
            return cluster
        }

        func url(_ index: Int) -> String { "amqp://guest:guest@127.0.0.1:\(ports[index])/" }

        func node(_ command: String, _ index: Int) -> Int32 {
            AMQPTestSupport.shell([script, command, directories[index]])
        }

        func stop() {
            for index in directories.indices { _ = node("stop", index) }
        }
    }

    @Test func aConnectionMovesToAnotherNodeWhenItsNodeIsKilledAndTheQuorumQueueLosesNothing() async throws {
        guard TestEnvironment.hasRabbitMQ else {
            #expect(!TestEnvironment.requireServices, "\(TestEnvironment.skipHint)")
            return
        }
        let cluster = try Cluster.start()
        defer { cluster.stop() }
        var configuration = try AMQPTestSupport.configuration(url: cluster.url(0), heartbeat: .seconds(5))
        // A quorum queue whose leader died answers once a new leader is elected: give its RPCs the product's time.
        configuration.rpcTimeout = .seconds(10)
        configuration.alternateURLs = try [cluster.url(1), cluster.url(2)].map { try AMQPURL(parsing: $0) }
        let connection = try await AMQPTestSupport.connect(configuration)
        let queue = AMQPTestSupport.uniqueName("cluster")
        // A quorum queue over the three nodes, as the request queue is.
        try await connection.declare([.queue(name: queue, arguments: ["x-queue-type": .string("quorum")])])
        let total = 200
        for index in 0..<total {
            try await connection.publish(
                AMQPTestSupport.message("\(index)", id: "\(index)"), exchange: "", routingKey: queue)
        }
        var acked = Set<String>()
        var generations = Set<UInt64>()
        var killed = false
        consumeLoop: for try await delivery in try await connection.consume(queue: queue, prefetch: 20) {
            generations.insert(delivery.generation)
            do {
                try delivery.ack()
                acked.insert(delivery.properties.messageID ?? "")
            } catch let error as AMQPError where error.code == .staleDelivery {
                // Delivered on the killed node's connection: never acked on another one; the queue delivers it again.
            }
            if acked.count == 50, !killed {
                killed = true
                // The node this connection uses (the first it tries) dies without a goodbye.
                #expect(cluster.node("kill", 0) == 0)
                #expect(try await TestEnvironment.waitUntil(timeout: .seconds(30)) { !connection.state.isReady })
            }
            if acked.count == total { break consumeLoop }
        }
        #expect(acked.count == total, "every message of the quorum queue consumed, none lost with the node")
        #expect(generations.count >= 2, "the consumer came back on a new connection")
        // (A status read may time out while the queue elects a new leader: the connection reconnects; read again.)
        #expect(
            try await TestEnvironment.waitUntil(timeout: .seconds(60)) {
                (try? await connection.queueStatus(queue).messageCount) == 0
            })
        // Publishing goes on through the surviving nodes.
        try await connection.publish(AMQPTestSupport.message("after", id: "after"), exchange: "", routingKey: queue)
        #expect(
            try await TestEnvironment.waitUntil(timeout: .seconds(60)) {
                (try? await connection.queueStatus(queue).messageCount) == 1
            })
        try await connection.deleteQueue(queue)
        await connection.close()
    }
}
