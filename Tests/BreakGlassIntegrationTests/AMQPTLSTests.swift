import BreakGlassAMQP
import Foundation
import Testing

/// A second, private broker (so the shared one is not disturbed): `amqps://` with a CA made by the test
/// (openssl), and a resource alarm (`connection.blocked`).
@Suite(.serialized, .enabled(if: TestEnvironment.hasRabbitMQ, Comment(rawValue: TestEnvironment.skipHint)))
struct AMQPTLSTests {
    @Test func tlsWithTestCAWorksWrongCAIsRefusedAndBlockedIsSurfaced() async throws {
        let script = try #require(TestEnvironment.rabbitMQNodeScript)
        let directory = try TestEnvironment.scratchDirectory("amqp-tls")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func openssl(_ arguments: [String]) throws {
            let status = AMQPTestSupport.shell(["openssl"] + arguments)
            guard status == 0 else {
                throw TestEnvironmentError.commandFailed("openssl \(arguments.first ?? "")", status)
            }
        }
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"),
            "-days", "2", "-subj", "/CN=breakglass-test-ca",
        ])
        try openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"),
            "-subj", "/CN=localhost",
        ])
        try "subjectAltName=DNS:localhost\n".write(toFile: path("ext.cnf"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("server.pem"), "-days", "2", "-extfile", path("ext.cnf"),
        ])
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("wrong.key"), "-out", path("wrong.pem"),
            "-days", "2", "-subj", "/CN=wrong-ca",
        ])

        let port = AMQPTestSupport.freePort(alsoFree: [1, 20_000])
        let tlsPort = port + 1
        let nodeDirectory = path("node")
        let started = AMQPTestSupport.shell([
            script, "start", nodeDirectory, String(port), "--tls-port", String(tlsPort),
            "--cacert", path("ca.pem"), "--cert", path("server.pem"), "--key", path("server.key"),
        ])
        defer { AMQPTestSupport.shell([script, "stop", nodeDirectory]) }
        try #require(started == 0, "second broker with a TLS listener did not start")

        // The right CA: connects with peer and host name verification, and a message goes round.
        var good = try AMQPTestSupport.configuration(url: "amqps://guest:guest@localhost:\(tlsPort)/")
        good.tls.caFile = path("ca.pem")
        let connection = try await AMQPTestSupport.connect(good)
        let queue = AMQPTestSupport.uniqueName("tls")
        try await connection.declare([.queue(name: queue, durable: false)])
        try await connection.publish(AMQPTestSupport.message("over tls"), exchange: "", routingKey: queue)
        let consumer = try await connection.consume(queue: queue, prefetch: 1)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        #expect(delivery.body == Array("over tls".utf8))
        try delivery.ack()
        await connection.close()

        // A CA that did not sign the broker's certificate: refused with a TLS failure, never ready.
        var wrong = good
        wrong.tls.caFile = path("wrong.pem")
        let refused = try AMQPConnection(configuration: wrong)
        refused.start()
        let sawTLSFailure = try await TestEnvironment.waitUntil(timeout: .seconds(20)) {
            if case .reconnecting(_, .tlsFailure) = refused.state { return true }
            return false
        }
        #expect(sawTLSFailure)
        #expect(!refused.state.isReady)
        await refused.close()

        // Resource alarm on the private broker: the connection reports `blocked`, the publish waits, and it is
        // confirmed once the alarm clears.
        let plain = try await AMQPTestSupport.connect(
            AMQPTestSupport.configuration(url: "amqp://guest:guest@127.0.0.1:\(port)/"))
        let alarmQueue = AMQPTestSupport.uniqueName("alarm")
        try await plain.declare([.queue(name: alarmQueue, durable: false)])
        #expect(AMQPTestSupport.shell([script, "ctl", nodeDirectory, "set_vm_memory_high_watermark", "0"]) == 0)
        let publish = Task {
            try await plain.publish(AMQPTestSupport.message("during alarm"), exchange: "", routingKey: alarmQueue)
        }
        let sawBlocked = try await TestEnvironment.waitUntil(timeout: .seconds(20)) { plain.state == .blocked }
        #expect(sawBlocked)
        #expect(AMQPTestSupport.shell([script, "ctl", nodeDirectory, "set_vm_memory_high_watermark", "0.4"]) == 0)
        try await publish.value
        #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) { plain.state == .ready })
        #expect(try await plain.queueStatus(alarmQueue).messageCount == 1)
        await plain.close()
    }
}
