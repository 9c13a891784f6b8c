import BreakGlassAMQP
import Foundation
import Testing

/// `amqps://` against a second, private broker with a TLS listener and a CA made by the test (openssl).
@Suite(.serialized, .enabled(if: TestEnvironment.hasRabbitMQ, Comment(rawValue: TestEnvironment.skipHint)))
struct AMQPTLSTests {
    @Test func tlsWithTestCAWorksAndAWrongCAIsRefused() async throws {
        let script = try #require(TestEnvironment.rabbitMQNodeScript)
        let directory = try TestEnvironment.scratchDirectory("amqp-tls")
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func openssl(_ arguments: [String]) throws {
            let status = AMQPTestSupport.shell(["openssl"] + arguments)
            guard status == 0 else { throw TestEnvironmentError.commandFailed("openssl \(arguments.first ?? "")", status) }
        }
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"),
                     "-days", "2", "-subj", "/CN=breakglass-test-ca"])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"),
                     "-subj", "/CN=localhost"])
        try "subjectAltName=DNS:localhost\n".write(toFile: path("ext.cnf"), atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-out", path("server.pem"), "-days", "2", "-extfile", path("ext.cnf")])
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("wrong.key"), "-out", path("wrong.pem"),
                     "-days", "2", "-subj", "/CN=wrong-ca"])

        let port = AMQPTestSupport.freePort(alsoFree: [1, 20_000])
        let tlsPort = port + 1
        let nodeDirectory = path("node")
        let started = AMQPTestSupport.shell([script, "start", nodeDirectory, String(port), "--tls-port", String(tlsPort),
                                             "--cacert", path("ca.pem"), "--cert", path("server.pem"), "--key", path("server.key")])
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
    }
}
