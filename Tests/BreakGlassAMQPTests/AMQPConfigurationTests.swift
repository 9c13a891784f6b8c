import BreakGlassAMQP
import Testing

@Suite struct AMQPConfigurationTests {
    @Test func defaultsAreSafe() throws {
        let configuration = try AMQPConnection.Configuration(url: "amqp://127.0.0.1")
        #expect(configuration.heartbeat == .seconds(30))
        #expect(configuration.rpcTimeout > .zero)
        #expect(configuration.handshakeTimeout > .zero)
        #expect(configuration.connectTimeout > .zero)
        try configuration.validate()
    }

    @Test func heartbeatZeroIsRefused() throws {
        var configuration = try AMQPConnection.Configuration(url: "amqp://127.0.0.1")
        configuration.heartbeat = .zero
        #expect(throws: AMQPError.self) { try configuration.validate() }
        #expect(throws: AMQPError.self) { try AMQPConnection(configuration: configuration) }
    }

    @Test func tlsNeedsCAFileAndMatchingCertificateAndKey() throws {
        var configuration = try AMQPConnection.Configuration(url: "amqps://broker")
        #expect(throws: AMQPError.self) { try configuration.validate() }
        configuration.tls.caFile = "/etc/ca.pem"
        try configuration.validate()
        configuration.tls.certificateFile = "/etc/client.pem"
        #expect(throws: AMQPError.self) { try configuration.validate() }
        configuration.tls.keyFile = "/etc/client.key"
        try configuration.validate()
    }
}
